"""DynoAI Desktop: the motorcycle dyno cell application.

Layers (ARCHITECTURE.md): ``core`` <- ``devices`` <- ``sim`` <- ``storage``
<- ``acquisition``/``ml`` <- ``ui``. Only ``ui`` imports Qt; import-linter checks the
layering (pyproject.toml).
"""

__version__ = "0.1.0"
