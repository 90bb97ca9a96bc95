"""The tracking store: everything about experiments and runs, in SQLite or PostgreSQL.

Open it with `open_store(url=None)` (argument, else `$KERASTUI_DB`, else
`sqlite:///<cwd>/data/kerastui.db`); migrations are applied once on first open.
Every method is one short transaction and returns plain records.

API overview (`Store` methods; `run_id` is an int, `resolve_run` maps names):

- Experiments and sweeps: `ensure_experiment`, `list_experiments`,
  `create_sweep`, `get_sweep`, `list_sweeps`.
- Runs: `create_run(experiment, spec, ...)` (queued, params flattened),
  `get_run(id_or_name)`, `resolve_run`, `list_runs(experiment=, status=,
  sweep_id=, where=, order_by=, limit=, offset=, updated_since=, with_spec=)`,
  `count_runs`, `status_counts`, `run_ids`, `delete_run`, `run_params`,
  `params_for`, `group_runs(by, where=, metrics=)` (groups by experiment or
  sweep with status counts and best metrics; `group_order(by)` lists runs
  group by group). Filter and sort expressions come from `experiments.store.fields`
  (`run_field`, `param_value`, `metric_value`, `tag_value`, `has_tag`).
- Lifecycle: `claim_next_run(worker_id)` (atomic; priority then FIFO),
  `claim_run`, `mark_running`, `mark_completed`, `mark_failed`,
  `mark_cancelled`, `mark_interrupted`, `heartbeat(run_id, progress...) ->
  HeartbeatReply`, `request_cancel`, `is_cancel_requested`, `requeue_run`
  (resume), `interrupt_stale_runs(timeout)`, `queue_length`.
- Workers: `register_worker`, `worker_heartbeat`, `stop_worker`,
  `list_workers`, `prune_workers`.
- Metrics: `log_metrics(run_id, rows)` (batched, keeps `metric_summaries`
  current), `metrics_since(run_id, after_id)` (live views), `metric_history`,
  `histories`, `epoch_history`, `metric_summaries`, `summaries_for`,
  `metric_keys`, `leaderboard`, `rewind_run(run_id, epoch)` (before resuming).
- Artifacts: `save_checkpoint`, `list_checkpoints`, `load_checkpoint`
  (sha256-verified), `checkpoint_state`, `prune_checkpoints`, `log_layer_stats`, `layer_stats`,
  `append_logs`, `logs`, `save_environment`, `environment`.
- Annotations: `set_tag`, `remove_tag`, `tags`, `tags_for`, `add_note`, `notes`.
- SQL: `query_readonly(sql) -> (columns, rows)`, refused by the database if it
  writes; views `run_overview`, `metric_history`, `run_params`. `info()` (for
  `db info`); `upgrade_schema(get_engine(url))` (for `db upgrade`).

Helpers: `arrays_to_npz`/`npz_to_arrays` (checkpoint bytes, never pickled),
`capture_environment`, `flatten_params`, `metric_direction`.
"""

from experiments.store.db import default_url, get_engine, resolve_url
from experiments.store.direction import metric_direction
from experiments.store.environment import capture_environment
from experiments.store.errors import (
    CorruptCheckpointError,
    InvalidStateError,
    NotFoundError,
    ReadOnlyQueryError,
    RunNotFoundError,
    StoreError,
)
from experiments.store.groups import GROUP_BY, RunGroup, group_key, group_order
from experiments.store.migrate import upgrade_schema
from experiments.store.npz import arrays_to_npz, npz_to_arrays
from experiments.store.params import flatten_params, spec_hash
from experiments.store.queue import DEFAULT_HEARTBEAT_TIMEOUT, HeartbeatReply
from experiments.store.readonly import QueryResult
from experiments.store.records import (
    CheckpointData,
    CheckpointInfo,
    ExperimentRecord,
    LayerStatRow,
    LogRecord,
    MetricPoint,
    MetricRow,
    MetricSummaryRecord,
    NoteRecord,
    RunRecord,
    SweepRecord,
    WorkerRecord,
)
from experiments.store.store import Store, forget_stores, open_store

__all__ = [
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "GROUP_BY",
    "CheckpointData",
    "CheckpointInfo",
    "CorruptCheckpointError",
    "ExperimentRecord",
    "HeartbeatReply",
    "InvalidStateError",
    "LayerStatRow",
    "LogRecord",
    "MetricPoint",
    "MetricRow",
    "MetricSummaryRecord",
    "NotFoundError",
    "NoteRecord",
    "QueryResult",
    "ReadOnlyQueryError",
    "RunNotFoundError",
    "RunGroup",
    "RunRecord",
    "Store",
    "StoreError",
    "SweepRecord",
    "WorkerRecord",
    "arrays_to_npz",
    "capture_environment",
    "default_url",
    "flatten_params",
    "forget_stores",
    "get_engine",
    "group_key",
    "group_order",
    "metric_direction",
    "npz_to_arrays",
    "open_store",
    "resolve_url",
    "spec_hash",
    "upgrade_schema",
]
