"""Model scoring server (docs/reference/formats.md, scoring protocol) and batch prediction."""
