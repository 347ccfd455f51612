"""placeholder during development."""
