"""Model scoring server (formats.md §6) and batch prediction."""
