"""Run bundles: one zip file holding everything about a run, to move it between databases.

A bundle is a zip with `bundle.json` (the run, its experiment and sweep, and
every row that belongs to it: params, metrics, summaries, checkpoints'
metadata, layer statistics, tags, notes, log lines, environment) and one
`blobs/<n>.bin` member per binary value (checkpoint weights and optimizer
state). Importing inserts the same rows under new ids into any database the
store supports, so SQLite -> PostgreSQL -> SQLite loses nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from experiments.store.models import (
    Checkpoint,
    Environment,
    Experiment,
    LayerStat,
    LogLine,
    Metric,
    MetricSummary,
    Note,
    Param,
    Run,
    Sweep,
    Tag,
)

BUNDLE_FORMAT = 1
# Tables whose rows belong to one run, in insertion order.
_RUN_TABLES = (Param, Metric, MetricSummary, Checkpoint, LayerStat, Tag, Note, LogLine, Environment)
# Surrogate keys given anew on import.
_FRESH_IDS = {Metric, Checkpoint, Note, LogLine}


class BundleError(ValueError):
    """A file that is not a run bundle this version can import."""


def _encode(row: Any, blobs: list[bytes], skip: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in sa_inspect(type(row)).columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        if isinstance(value, dt.datetime):
            out[column.key] = {"$datetime": value.isoformat()}
        elif isinstance(value, (bytes, bytearray, memoryview)):
            blobs.append(bytes(value))
            out[column.key] = {"$blob": len(blobs) - 1}
        else:
            out[column.key] = value
    return out


def _decode(data: dict[str, Any], blobs: dict[int, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and "$datetime" in value:
            out[key] = dt.datetime.fromisoformat(value["$datetime"])
        elif isinstance(value, dict) and "$blob" in value:
            out[key] = blobs[int(value["$blob"])]
        else:
            out[key] = value
    return out


def export_bundle(store: Any, ref: int | str) -> bytes:
    """The bundle of one run, as zip bytes.

    Args:
        store: the tracking store.
        ref: the run's id or name.
    """
    run_id = store.resolve_run(ref)
    blobs: list[bytes] = []
    with store._read() as session:
        run = session.get(Run, run_id)
        experiment = session.get(Experiment, run.experiment_id)
        sweep = session.get(Sweep, run.sweep_id) if run.sweep_id is not None else None
        payload: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "experiment": _encode(experiment, blobs, {"id"}),
            "sweep": _encode(sweep, blobs, {"id", "experiment_id"}) if sweep else None,
            "run": _encode(run, blobs, {"id", "experiment_id", "sweep_id", "parent_run_id"}),
            "tables": {},
        }
        for model in _RUN_TABLES:
            rows = session.scalars(select(model).where(model.run_id == run_id)).all()
            skip = {"run_id", "id"} if model in _FRESH_IDS else {"run_id"}
            payload["tables"][model.__tablename__] = [_encode(r, blobs, skip) for r in rows]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bundle.json", json.dumps(payload))
        for i, blob in enumerate(blobs):
            zf.writestr(f"blobs/{i}.bin", blob)
    return buffer.getvalue()


def _unique_name(session: Any, name: str) -> str:
    candidate, n = name, 1
    while session.scalar(select(Run.id).where(Run.name == candidate)) is not None:
        n += 1
        candidate = f"{name}-imported{'' if n == 2 else f'-{n - 1}'}"
    return candidate


def import_bundle(store: Any, data: bytes) -> int:
    """Insert a bundled run (under a new id; the name gets `-imported` if taken); return its id.

    Raises:
        BundleError: the data is not a run bundle of a known format.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            payload = json.loads(zf.read("bundle.json"))
            blobs = {
                int(name[len("blobs/") : -len(".bin")]): zf.read(name)
                for name in zf.namelist()
                if name.startswith("blobs/")
            }
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise BundleError(
            f"not a kerastui run bundle ({err}); export one with `kerastui bundle`"
        ) from None
    if payload.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle format {payload.get('format')!r} is not supported "
            f"(this version reads {BUNDLE_FORMAT})"
        )
    with store._write() as session:
        exp_data = _decode(payload["experiment"], blobs)
        experiment = session.scalar(select(Experiment).where(Experiment.name == exp_data["name"]))
        if experiment is None:
            experiment = Experiment(**exp_data)
            session.add(experiment)
            session.flush()
        sweep_id = None
        if payload.get("sweep"):
            sweep = Sweep(experiment_id=experiment.id, **_decode(payload["sweep"], blobs))
            session.add(sweep)
            session.flush()
            sweep_id = sweep.id
        run_data = _decode(payload["run"], blobs)
        run_data["name"] = _unique_name(session, run_data["name"])
        if run_data.get("status") == "running":
            # The process that ran it is not coming to this database.
            run_data["status"] = "interrupted"
        run = Run(experiment_id=experiment.id, sweep_id=sweep_id, **run_data)
        session.add(run)
        session.flush()
        for model in _RUN_TABLES:
            rows = payload["tables"].get(model.__tablename__, [])
            session.add_all(model(run_id=run.id, **_decode(r, blobs)) for r in rows)
        session.flush()
        return int(run.id)
