"""Training-data schemas, pattern extraction, models, registry and suggestions."""
