"""The command line end to end, in subprocesses, as a user would type it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMALL = ["--set", "data.limit=256", "--set", "data.validation_limit=64", "--set", "fit.epochs=1"]


def kerastui(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # -P, as the console script does: the workspace's `experiments/` folder (made by
    # `init`) must not shadow the package of that name.
    env = {**os.environ, "KERASTUI_DB": f"sqlite:///{workspace / 'data' / 'kerastui.db'}"}
    result = subprocess.run(
        [sys.executable, "-P", "-m", "kerastui", *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


@pytest.mark.slow
def test_init_run_launch_compare_export_sql_delete(tmp_path):
    try:
        _scenario(tmp_path)
    finally:
        kerastui(tmp_path, "worker", "stop", check=False)


def _scenario(ws: Path) -> None:
    kerastui(ws, "init", ".")
    assert (ws / "experiments" / "shapes_cnn.toml").is_file()
    out = kerastui(ws, "run", "shapes_cnn", *SMALL).stdout
    assert "Epoch 1/1" in out and "completed" in out
    ids = []
    for lr in ("0.001", "0.003"):
        launched = kerastui(
            ws, "launch", "experiments/shapes_cnn.toml", *SMALL,
            "--set", f"compile.optimizer.learning_rate={lr}", "--json",
        )  # fmt: skip
        ids += json.loads(launched.stdout)
    assert ids == [2, 3]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        runs = json.loads(kerastui(ws, "runs", "--json").stdout)
        if all(r["status"] not in ("queued", "running") for r in runs):
            break
        time.sleep(1)
    assert [(r["id"], r["status"]) for r in runs] == [
        (3, "completed"),
        (2, "completed"),
        (1, "completed"),
    ]
    assert runs[0]["params"]["compile.optimizer.learning_rate"] == 0.003
    comparison = json.loads(kerastui(ws, "compare", "2", "3", "--json").stdout)
    assert list(comparison["params"]) == ["compile.optimizer.learning_rate"]
    for fmt in ("csv", "json", "md"):
        kerastui(ws, "export", "2", "3", "--format", fmt, "--output", f"runs.{fmt}")
        assert (ws / f"runs.{fmt}").stat().st_size > 0
    kerastui(ws, "export-model", "3", "--best", "--output", "best.keras")
    check = (
        "import numpy as np, engine.models as M;"
        "m = M.load_model('best.keras');"
        "print(m.predict(np.zeros((2, 32, 32, 3), 'float32'), verbose=0).shape)"
    )
    predicted = subprocess.run(
        [sys.executable, "-c", check], cwd=ws, capture_output=True, text=True, check=True
    )
    assert predicted.stdout.strip() == "(2, 10)"
    rows = json.loads(kerastui(ws, "sql", "SELECT run_id FROM run_overview", "--json").stdout)
    assert sorted(r["run_id"] for r in rows) == [1, 2, 3]
    refused = kerastui(ws, "sql", "DELETE FROM runs", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    kerastui(ws, "delete", "1", "--yes")
    assert [r["id"] for r in json.loads(kerastui(ws, "runs", "--json").stdout)] == [3, 2]
