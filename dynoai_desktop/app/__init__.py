"""The application layer: Qt-free state the panels observe and call (ARCHITECTURE.md "Layers").

``DynoApp`` opens storage and builds the rest: ``TuneSession`` (the tune being edited, undo/redo,
versions in the catalog), ``LiveSession`` (devices, statuses, recording, the live buffer and the
live analysis), ``RunLibrary`` (customers, vehicles, sessions and runs; opening runs and logs) and
``AppSettings`` (the one owner of the settings file). Plain objects with change events, like
napari's components: panels subscribe and render, and never open the catalog or a file
themselves.
"""
