"""Tune file formats (Power Vision .pvv, TunerStudio .msq): parse, convert, splice in place."""
