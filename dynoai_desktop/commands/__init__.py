"""`dynoai` subcommands (FORMATS.md).

Each module has ``HELP``, ``add_arguments`` and ``run``; none imports Qt.
"""
