"""Fixtures for the command-line tests: a temporary workspace and database, and a runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from experiments.runner import execute_run
from experiments.store import forget_stores, open_store
from experiments.submit import submit
from kerastui.cli import app

# A run small enough to train in about a second.
TINY = {
    "fit.epochs": "2",
    "fit.batch_size": "32",
    "data.limit": "64",
    "data.validation_limit": "32",
}
Invoke = Callable[..., Result]


@pytest.fixture(scope="session")
def _trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding one completed tiny shapes_cnn run (id 1) and one queued run (id 2)."""
    path = tmp_path_factory.mktemp("cli-template") / "kerastui.db"
    store = open_store(f"sqlite:///{path}")
    run_id = submit("shapes_cnn", store, TINY)
    execute_run(run_id, store)
    submit("shapes_cnn", store, {**TINY, "compile.optimizer.learning_rate": "0.003"})
    forget_stores()
    return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty workspace folder as the current directory, its database in KERASTUI_DB."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERASTUI_DB", f"sqlite:///{tmp_path / 'data' / 'kerastui.db'}")
    monkeypatch.setenv("KERASTUI_DATA_DIR", str(tmp_path / "cache"))
    # No test may start a real background worker by accident.
    monkeypatch.setattr("kerastui.cli.training.ensure_worker", lambda url, slots=1: None)
    yield tmp_path
    forget_stores()


@pytest.fixture
def trained(workspace: Path, _trained_template: Path) -> Path:
    """The workspace with the template database copied in (runs 1 completed, 2 queued)."""
    (workspace / "data").mkdir(exist_ok=True)
    shutil.copy(_trained_template, workspace / "data" / "kerastui.db")
    return workspace


@pytest.fixture
def cli() -> Invoke:
    """Invoke the app: `cli("runs", "--json")` returns Click's result (stdout, stderr, code)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke
