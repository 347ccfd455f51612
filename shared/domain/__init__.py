"""Domain logic: what the service does, independent of how each handler is triggered."""
