"""Data models: the single definition of each contract (events, API bodies, stored records)."""
