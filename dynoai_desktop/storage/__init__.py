"""Files and persistence: settings, catalog, run files, importers and exporters."""
