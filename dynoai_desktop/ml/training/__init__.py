"""Training data: the records every tuning session becomes (``records``), read and checked
against the published schema (``dataset``; docs/formats/training-data.schema.json)."""
