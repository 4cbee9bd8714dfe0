"""What can go wrong with a model, each with a stable code the UI shows and the CLI prints.

The codes are part of the command-line contract (docs/formats.md "Models"): a script may match on
them, so they never change meaning.
"""

from __future__ import annotations

from dynoai_desktop.core.errors import InputError

NO_MODEL = "DYN-M001"
"""No model of that kind and scope (none trained, none shipped, or that version not there)."""
INCOMPATIBLE_SCHEMA = "DYN-M002"
"""The model was made from another feature schema than this version of DynoAI builds."""
INTEGRITY_FAILURE = "DYN-M003"
"""An artifact's SHA-256 does not match its entry, or it holds a type DynoAI does not trust."""
TOO_LITTLE_DATA = "DYN-M004"
"""Too few sessions (or groups of builds) to train or to validate a model honestly."""

TITLES = {
    NO_MODEL: "no model",
    INCOMPATIBLE_SCHEMA: "incompatible feature schema",
    INTEGRITY_FAILURE: "integrity failure",
    TOO_LITTLE_DATA: "too little data",
}


class ModelError(InputError):
    """A model cannot be used or made; ``code`` is one of the constants above."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {TITLES[code]}: {message}")
        self.code = code
        self.detail = message

    def __reduce__(self) -> tuple[type[ModelError], tuple[str, str]]:
        """Rebuilt from its code and message (a training process raises it to the app)."""
        return (ModelError, (self.code, self.detail))
