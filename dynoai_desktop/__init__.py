"""DynoAI Desktop: the motorcycle dyno cell application.

Layers (ARCHITECTURE.md), top to bottom: ``cli``; ``ui`` | ``commands`` | ``demo``; ``app``;
``acquisition`` | ``ml``; ``storage``; ``sim``; ``devices``; ``core``. Only ``ui`` imports Qt, and
only the command line and ``demo`` start the virtual cell; import-linter checks the layering
(pyproject.toml).
"""

__version__ = "0.1.0"
