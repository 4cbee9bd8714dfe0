"""User-facing input errors.

Every error a user can cause (a bad file, column, option or value) is an ``InputError`` whose
message names the thing at fault and what to do. The command line turns it into one
``dynoai CMD: ...`` line and exit code 2 (FORMATS.md §0); the GUI shows it in a dialog.
"""


class InputError(ValueError):
    """Bad or unusable input from the user: the message names what is at fault and what to do."""
