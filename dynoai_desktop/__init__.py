"""DynoAI Desktop: the motorcycle dyno cell application.

Layers (ARCHITECTURE.md), top to bottom: ``cli``; ``ui`` | ``commands`` | ``demo``; ``app``;
``acquisition`` | ``ml``; ``storage``; ``sim``; ``devices``; ``core``. Only ``ui`` imports Qt, and
only the command line and ``demo`` start the virtual cell; import-linter checks the layering
(pyproject.toml).
"""

import time

# The earliest moment the app's own code runs: "main window shown X s after start" counts from
# here where the kernel cannot say when the process started (ui.launch.seconds_since_start).
STARTED_MONOTONIC = time.monotonic()

__version__ = "0.1.0"
