"""`python -m dynoai_desktop` is the `dynoai` command."""

from dynoai_desktop.cli import main

raise SystemExit(main())
