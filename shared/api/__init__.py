"""The management API: routers (one module per area), the error bodies they share, and the app."""
