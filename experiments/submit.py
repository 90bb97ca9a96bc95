"""Queueing a run: validate a spec, resolve it, and create its row in the store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from experiments.spec import ExperimentSpec, read_spec_file, resolve, validate_spec
from experiments.spec.errors import SpecError


def _raw(spec: ExperimentSpec | Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    if isinstance(spec, ExperimentSpec):
        return resolve(spec)
    if isinstance(spec, Mapping):
        return dict(spec)
    return read_spec_file(spec)


def prepare_run_spec(
    spec: ExperimentSpec | Mapping[str, Any] | str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
) -> ExperimentSpec:
    """Read (a path, an example name, a dict or a spec), override and validate a spec.

    Args:
        spec: a spec file path, an example name (`"shapes_cnn"`), a raw or resolved
            dict, or a validated `ExperimentSpec`.
        overrides: dotted paths to values (`{"fit.epochs": "3"}`).

    Raises:
        SpecError: with every problem found (naming the file when there is one).
    """
    raw = _raw(spec)
    try:
        return validate_spec(raw, overrides)
    except SpecError as err:
        if isinstance(spec, str | os.PathLike) and not isinstance(spec, Mapping):
            raise err.with_source(os.fspath(spec)) from None
        raise


def submit(
    spec: ExperimentSpec | Mapping[str, Any] | str | os.PathLike[str],
    store: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    priority: int = 0,
    name: str | None = None,
    parent_run_id: int | None = None,
    sweep_id: int | None = None,
) -> int:
    """Validate a spec and queue one run of it; return the run's id.

    The run stores the resolved spec (every default filled in) without its
    `[sweep]` table: a run is one trial, and sweeps are launched as a group of
    runs. Its params, spec hash, seed, planned epochs and the experiment's tags
    are recorded with it. An invalid spec raises before anything is written.

    Args:
        spec: a spec file path, an example name, a dict, or an `ExperimentSpec`.
        store: the tracking store.
        overrides: dotted paths to values, such as `{"fit.epochs": "3"}`.
        priority: larger runs first; equal priorities run oldest first.
        name: the run's readable name (generated when None).
        parent_run_id: the run this one reruns.
        sweep_id: the sweep this run is a trial of.

    Raises:
        SpecError: the spec is invalid; nothing was written.

    Example:
        >>> run_id = submit("shapes_cnn", store, {"fit.epochs": "2", "data.limit": "512"})
        >>> store.get_run(run_id).status
        'queued'
    """
    validated = prepare_run_spec(spec, overrides)
    resolved = resolve(validated)
    resolved.pop("sweep", None)
    run = store.create_run(
        validated.experiment.name,
        resolved,
        name=name,
        description=validated.experiment.description or None,
        seed=validated.fit.seed,
        priority=priority,
        epochs_total=validated.fit.epochs,
        parent_run_id=parent_run_id,
        sweep_id=sweep_id,
        tags=validated.experiment.tags,
    )
    return int(run.id)
