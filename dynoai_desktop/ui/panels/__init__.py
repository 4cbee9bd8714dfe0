"""Dock panels: thin views over Qt-free models."""
