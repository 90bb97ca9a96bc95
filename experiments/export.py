"""Exporting results: run tables (CSV/JSON/Markdown), metric histories, models, run bundles.

Every file is written atomically (to a temporary file, then renamed), so a
failed export never leaves half a file behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.utils.file_utils import atomic_write
from experiments.store.bundles import export_bundle, import_bundle

FORMATS = ("csv", "json", "md")


def _runs(store: Any, refs: Sequence[int | str]) -> list[Any]:
    """The runs of `refs` in their order, read in batches (10,000 runs in a few queries)."""
    from experiments.store.core import chunks
    from experiments.store.fields import run_field

    ids = [
        int(ref) if isinstance(ref, int) or ref.strip().isdigit() else store.resolve_run(ref)
        for ref in refs
    ]
    found: dict[int, Any] = {}
    for chunk in chunks(ids):
        found.update((r.id, r) for r in store.list_runs(where=run_field("id").in_(chunk)))
    # A missing run raises the store's own "no run has id ..." error.
    return [found[i] if i in found else store.get_run(i) for i in ids]


def run_rows(store: Any, refs: Sequence[int | str]) -> list[dict[str, Any]]:
    """One flat dict per run: identity, status, params (`params.*`), final/best metrics.

    Args:
        store: the tracking store.
        refs: run ids or names.
    """
    runs = _runs(store, refs)
    ids = [r.id for r in runs]
    params = store.params_for(ids)
    summaries = store.summaries_for(ids)
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "id": run.id,
            "name": run.name,
            "experiment": run.experiment,
            "status": run.status,
            "epochs_done": run.epochs_done,
            "epochs_total": run.epochs_total,
            "duration_s": round(run.duration.total_seconds(), 3) if run.duration else None,
        }
        for key, value in sorted(params[run.id].items()):
            row[f"params.{key}"] = value
        for key, summary in sorted(summaries.get(run.id, {}).items()):
            row[f"final.{key}"] = summary.final_value
            row[f"best.{key}"] = summary.best_value
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def format_runs(rows: list[dict[str, Any]], fmt: str) -> str:
    """Render run rows as `csv`, `json` or `md` (a Markdown table)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str) + "\n"
    columns = _columns(rows)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        return out.getvalue()
    escape = str.maketrans({"|": "\\|", "\n": " "})
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(k)).translate(escape) for k in columns) + " |")
    return "\n".join(lines) + "\n"


def export_runs(
    store: Any, refs: Sequence[int | str], fmt: str, path: str | os.PathLike[str]
) -> Path:
    """Write runs (params and final/best metrics) to a CSV, JSON or Markdown file.

    Example:
        >>> export_runs(store, [3, 4], "md", "runs.md")
    """
    if not refs:
        raise ValueError("no runs to export; give one or more run ids or names")
    return atomic_write(path, format_runs(run_rows(store, refs), fmt).encode())


def export_history(store: Any, refs: Sequence[int | str], path: str | os.PathLike[str]) -> Path:
    """Write the per-epoch metric histories of runs as long-form CSV.

    Columns: run_id, run_name, epoch, step, key, value.
    """
    if not refs:
        raise ValueError("no runs to export; give one or more run ids or names")
    runs = _runs(store, refs)
    curves = store.histories([r.id for r in runs], kind="epoch")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run_id", "run_name", "epoch", "step", "key", "value"])
    for run in runs:
        for key, points in sorted(curves.get(run.id, {}).items()):
            for p in points:
                writer.writerow([run.id, run.name, p.epoch, p.step, key, _cell(p.value)])
    return atomic_write(path, out.getvalue().encode())


def comparison_rows(comparison: Any) -> list[dict[str, Any]]:
    """The comparison as rows: each differing param, then each metric's final and best value.

    Columns: `kind` ("param", "final", "best"), `key`, then one per run, `#id name`.

    Args:
        comparison: an `experiments.compare.Comparison`.
    """
    columns = {r.id: f"#{r.id} {r.name}" for r in comparison.runs}
    rows: list[dict[str, Any]] = []
    for key, values in comparison.params.items():
        rows.append({"kind": "param", "key": key, **{columns[i]: values.get(i) for i in columns}})
    for which in ("final", "best"):
        for key, per_run in sorted(comparison.metrics.items()):
            rows.append(
                {
                    "kind": which,
                    "key": key,
                    **{c: (per_run.get(i) or {}).get(which) for i, c in columns.items()},
                }
            )
    return rows


def format_comparison(comparison: Any, fmt: str) -> str:
    """Render a comparison (differing params, metrics side by side) as `csv`, `json` or `md`.

    Args:
        comparison: an `experiments.compare.Comparison`.
        fmt: "csv", "json" or "md".

    Example:
        >>> print(format_comparison(compare_runs(store, [3, 4]), "md"))
    """
    return format_runs(comparison_rows(comparison), fmt)


def export_comparison(
    store: Any, refs: Sequence[int | str], fmt: str, path: str | os.PathLike[str]
) -> Path:
    """Compare runs and write the comparison to a CSV, JSON or Markdown file.

    Example:
        >>> export_comparison(store, [3, 4], "csv", "exports/compare.csv")
    """
    from experiments.compare import compare_runs

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return atomic_write(path, format_comparison(compare_runs(store, refs), fmt).encode())


def pick_checkpoint(
    store: Any, run_id: int, *, best: bool = False, epoch: int | None = None
) -> Any:
    """The checkpoint to export: of `epoch`, the best one, or the last complete one."""
    infos = store.list_checkpoints(run_id)
    if not infos:
        raise ValueError(f"run {run_id} has no checkpoints yet; nothing to export")
    if epoch is not None:
        chosen = [c for c in infos if c.epoch == epoch]
        if not chosen:
            have = ", ".join(str(c.epoch) for c in sorted(infos, key=lambda c: c.epoch))
            raise ValueError(
                f"run {run_id} has no checkpoint of epoch {epoch}; it has epochs {have}"
            )
        return max(chosen, key=lambda c: c.id)
    if best:
        chosen = [c for c in infos if c.is_best]
        if chosen:
            return max(chosen, key=lambda c: c.id)
    return max(infos, key=lambda c: (c.epoch, c.id))


def model_for_run(
    store: Any, ref: int | str, *, best: bool = False, epoch: int | None = None
) -> Any:
    """The run's model, compiled, with the weights of the chosen checkpoint.

    The architecture comes from the run's spec; the input shape from the
    checkpoint (or the spec's first layer, or, for old checkpoints, the data).
    """
    from experiments import checkpoints
    from experiments.runner import compile_model_for_shape
    from experiments.spec import validate_spec

    run = store.get_run(ref)
    info = pick_checkpoint(store, run.id, best=best, epoch=epoch)
    data = store.load_checkpoint(run.id, checkpoint_id=info.id)
    spec = validate_spec(run.spec or {})
    shapes = data.state.get("input_shapes") or []
    if len(shapes) == 1:
        input_shape: tuple[int, ...] | None = tuple(shapes[0])
    else:
        from experiments.data import prepare_data

        input_shape = prepare_data(spec.data, spec.fit.validation_split).input_shape
    from engine.backend import naming

    naming.clear_session()
    model = compile_model_for_shape(spec, input_shape)
    checkpoints.restore(model, data.weights, data.optimizer_state, data.state)
    return model


def export_model(
    store: Any,
    ref: int | str,
    path: str | os.PathLike[str],
    *,
    best: bool = False,
    epoch: int | None = None,
) -> Path:
    """Save a run's model to `.keras` (architecture, weights, optimizer) or weights `.npz`.

    A path ending in `.weights.npz` or `.npz` gets the weights alone.

    Example:
        >>> export_model(store, 12, "best.keras", best=True)
    """
    target = Path(path)
    if not (target.name.endswith(".keras") or target.name.endswith(".npz")):
        raise ValueError(
            f"export a model to a .keras file or weights to a .npz file, got {target.name!r}"
        )
    model = model_for_run(store, ref, best=best, epoch=epoch)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.name.endswith(".keras"):
        model.save(str(target))
    else:
        from experiments.store.npz import arrays_to_npz

        atomic_write(target, arrays_to_npz(model.get_weights()))
    return target


def bundle_run(store: Any, ref: int | str, path: str | os.PathLike[str]) -> Path:
    """Write one run, with everything recorded about it, to a bundle file."""
    return atomic_write(path, export_bundle(store, ref))


def import_run(store: Any, path: str | os.PathLike[str]) -> int:
    """Import a bundle file into this store; return the new run's id."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no bundle file at {source}")
    return import_bundle(store, source.read_bytes())
