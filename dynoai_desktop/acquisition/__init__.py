"""Reader threads, ring buffer and recording (stdlib threads, no Qt)."""
