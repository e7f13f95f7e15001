"""The web UI: server-rendered pages (with JSON twins) and small JS islands; see ``routes``."""
