"""Alembic environment: migrations run on the connection `experiments.store` hands over.

`experiments.store.migrate.upgrade_schema` opens the connection, takes the
lock that keeps parallel processes from racing, and passes the connection in
`config.attributes["connection"]`; `kerastui db upgrade` goes through it too.
"""

from __future__ import annotations

from alembic import context

from experiments.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "tracking store migrations run through experiments.store.upgrade_schema(url), "
        "which holds the lock against parallel upgrades; call that instead of alembic"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
