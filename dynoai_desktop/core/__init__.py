"""Qt-free numpy/pandas domain: tables, channels and units, build spec (later: autotune,
coverage, planner, correction factors, overlays). No Qt, no threads, no file or port I/O."""
