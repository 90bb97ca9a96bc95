"""The initial tracking schema: tables, indexes and the SQL views people query.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

# Portable SQL (SQLite and PostgreSQL): a view must never use one dialect's extensions.
_PARAM_COLUMNS = {
    "optimizer": ("value_text", ("compile.optimizer.type", "compile.optimizer")),
    "learning_rate": ("value_num", ("compile.optimizer.learning_rate",)),
    "batch_size": ("value_num", ("fit.batch_size",)),
    "epochs": ("value_num", ("fit.epochs",)),
    "dataset": ("value_text", ("data.name", "data.dataset")),
}
_SUMMARY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _run_overview_sql() -> str:
    selects = [
        "r.id AS run_id",
        "r.name AS run_name",
        "e.name AS experiment",
        "r.status AS status",
        "r.seed AS seed",
        "r.priority AS priority",
        "r.attempt AS attempt",
        "r.epochs_done AS epochs_done",
        "r.epochs_total AS epochs_total",
        "r.created_at AS created_at",
        "r.started_at AS started_at",
        "r.finished_at AS finished_at",
        "r.parent_run_id AS parent_run_id",
        "r.sweep_id AS sweep_id",
    ]
    joins = ["JOIN experiments e ON e.id = r.experiment_id"]
    for column, (value_column, keys) in _PARAM_COLUMNS.items():
        aliases = []
        for index, key in enumerate(keys):
            alias = f"p_{column}_{index}"
            aliases.append(f"{alias}.{value_column}")
            joins.append(
                f"LEFT JOIN params {alias} ON {alias}.run_id = r.id AND {alias}.key = '{key}'"
            )
        value = aliases[0] if len(aliases) == 1 else f"COALESCE({', '.join(aliases)})"
        selects.append(f"{value} AS {column}")
    for metric in _SUMMARY_METRICS:
        alias = f"s_{metric}"
        joins.append(
            f"LEFT JOIN metric_summaries {alias} ON {alias}.run_id = r.id "
            f"AND {alias}.kind = 'epoch' AND {alias}.key = '{metric}'"
        )
        selects.append(f"{alias}.final_value AS final_{metric}")
        selects.append(f"{alias}.best_value AS best_{metric}")
        selects.append(f"{alias}.best_epoch AS best_{metric}_epoch")
    return (
        "CREATE VIEW run_overview AS SELECT\n  "
        + ",\n  ".join(selects)
        + "\nFROM runs r\n"
        + "\n".join(joins)
    )


_METRIC_HISTORY_SQL = """
CREATE VIEW metric_history AS
SELECT
  m.run_id AS run_id,
  r.name AS run_name,
  e.name AS experiment,
  m.kind AS kind,
  m.key AS metric,
  m.epoch AS epoch,
  m.step AS step,
  m.value AS value,
  m.wall_time AS wall_time
FROM metrics m
JOIN runs r ON r.id = m.run_id
JOIN experiments e ON e.id = r.experiment_id
"""

_RUN_PARAMS_SQL = """
CREATE VIEW run_params AS
SELECT
  p.run_id AS run_id,
  r.name AS run_name,
  e.name AS experiment,
  p.key AS param,
  p.value_text AS value_text,
  p.value_num AS value_num
FROM params p
JOIN runs r ON r.id = p.run_id
JOIN experiments e ON e.id = r.experiment_id
"""


def upgrade() -> None:
    """Create every table, index and view."""
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_sweeps_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("heartbeat_at", TIME, nullable=True),
        sa.Column("worker_id", sa.String(200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("epochs_done", sa.Integer(), nullable=False),
        sa.Column("epochs_total", sa.Integer(), nullable=True),
        sa.Column("current_batch", sa.Integer(), nullable=False),
        sa.Column("batches_per_epoch", sa.Integer(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("parent_run_id", sa.Integer(), nullable=True),
        sa.Column("sweep_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')",
            name=op.f("ck_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_runs_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_run_id"],
            ["runs.id"],
            name=op.f("fk_runs_parent_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sweep_id"],
            ["sweeps.id"],
            name=op.f("fk_runs_sweep_id_sweeps"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("name", name=op.f("uq_runs_name")),
    )
    op.create_index("ix_runs_status_priority_id", "runs", ["status", "priority", "id"])
    op.create_index("ix_runs_experiment_id", "runs", ["experiment_id"])
    op.create_index("ix_runs_updated_at", "runs", ["updated_at"])
    op.create_index("ix_runs_sweep_id", "runs", ["sweep_id"])

    op.create_table(
        "params",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_type", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_params_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_params")),
    )
    op.create_index("ix_params_key_value_num", "params", ["key", "value_num"])
    op.create_index("ix_params_key_value_text", "params", ["key", "value_text"])

    op.create_table(
        "metrics",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.CheckConstraint("kind IN ('epoch', 'batch')", name=op.f("ck_metrics_kind")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metrics_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index("ix_metrics_run_id_kind_key_step", "metrics", ["run_id", "kind", "key", "step"])

    op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("final_value", sa.Float(), nullable=True),
        sa.Column("final_epoch", sa.Integer(), nullable=True),
        sa.Column("final_step", sa.Integer(), nullable=True),
        sa.Column("best_value", sa.Float(), nullable=True),
        sa.Column("best_epoch", sa.Integer(), nullable=True),
        sa.Column("best_step", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "direction IN ('min', 'max')", name=op.f("ck_metric_summaries_direction")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_metric_summaries_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "kind", "key", name=op.f("pk_metric_summaries")),
    )
    op.create_index(
        "ix_metric_summaries_key_best_value",
        "metric_summaries",
        ["kind", "key", "best_value", "run_id"],
    )
    op.create_index(
        "ix_metric_summaries_key_final_value",
        "metric_summaries",
        ["kind", "key", "final_value", "run_id"],
    )

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("weights", sa.LargeBinary(), nullable=False),
        sa.Column("optimizer_state", sa.LargeBinary(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("optimizer_sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("monitor", sa.String(200), nullable=True),
        sa.Column("monitor_value", sa.Float(), nullable=True),
        sa.Column("is_best", sa.Boolean(), nullable=False),
        sa.Column("is_last", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_checkpoints_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    op.create_index("ix_checkpoints_run_id_epoch", "checkpoints", ["run_id", "epoch"])

    op.create_table(
        "layer_stats",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight_norm", sa.Float(), nullable=True),
        sa.Column("grad_norm", sa.Float(), nullable=True),
        sa.Column("update_ratio", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_layer_stats_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "epoch", "layer", name=op.f("pk_layer_stats")),
    )

    op.create_table(
        "tags",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_tags_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_tags")),
    )
    op.create_index("ix_tags_key_value", "tags", ["key", "value"])

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_notes_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index("ix_notes_run_id", "notes", ["run_id"])

    op.create_table(
        "log_lines",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_log_lines_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_lines")),
    )
    op.create_index("ix_log_lines_run_id_id", "log_lines", ["run_id", "id"])

    op.create_table(
        "environments",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("python", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(300), nullable=False),
        sa.Column("numpy", sa.String(50), nullable=True),
        sa.Column("blas", sa.String(300), nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("captured_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_environments_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_environments")),
    )

    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("heartbeat_at", TIME, nullable=False),
        sa.Column("stopped_at", TIME, nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )

    op.execute(_run_overview_sql())
    op.execute(_METRIC_HISTORY_SQL)
    op.execute(_RUN_PARAMS_SQL)


def downgrade() -> None:
    """Drop the views, then every table (children first)."""
    for view in ("run_params", "metric_history", "run_overview"):
        op.execute(f"DROP VIEW {view}")
    for table in (
        "workers",
        "environments",
        "log_lines",
        "notes",
        "tags",
        "layer_stats",
        "checkpoints",
        "metric_summaries",
        "metrics",
        "params",
        "runs",
        "sweeps",
        "experiments",
    ):
        op.drop_table(table)
