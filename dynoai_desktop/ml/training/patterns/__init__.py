"""One module per learnable pattern's extractor (``ml.training.extract`` runs them all).

Each extractor takes the session (:class:`~dynoai_desktop.ml.training.session_data.SessionData`)
and autotune's settings and returns ``(record, None)`` or ``(None, reason)``: the reason in the
tuner's words when the session lacks what the pattern needs. None raises on what a log holds.
"""
