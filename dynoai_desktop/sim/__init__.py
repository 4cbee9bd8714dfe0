"""The virtual dyno cell: engine and dyno physics serving real device bytes.

Imports devices and core."""
