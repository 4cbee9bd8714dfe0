"""DynoAI Desktop: the motorcycle dyno cell application.

Layers (ARCHITECTURE.md): ``core`` <- ``devices`` <- ``sim`` <- ``storage`` <- ``acquisition``/``ml``
<- ``ui``. Only ``ui`` imports Qt; the layering is checked by import-linter (pyproject.toml).
"""

__version__ = "0.1.0"
