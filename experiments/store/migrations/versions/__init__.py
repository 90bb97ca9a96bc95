"""Alembic revisions of the tracking store, oldest first (0001_initial.py creates the schema)."""
