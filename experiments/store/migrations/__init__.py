"""Alembic migrations of the tracking store, applied by `experiments.store.open_store`."""
