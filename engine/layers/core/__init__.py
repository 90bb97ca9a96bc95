"""Core layers: Input, Dense, Identity, Lambda."""
