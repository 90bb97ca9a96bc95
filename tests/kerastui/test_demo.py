"""`kerastui demo`: off a terminal it trains shapes_cnn here; on one it queues the examples."""

from __future__ import annotations

import io
import json

from rich.console import Console

from tests.kerastui.conftest import TINY


def test_demo_off_a_terminal_trains_and_says_where_results_are(workspace, cli, monkeypatch):
    monkeypatch.setattr("kerastui.cli.workspace.DEMO_OVERRIDES", TINY)
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "Epoch 2/2" in result.stdout and "completed" in result.stdout
    assert "results: run 1 in sqlite:///" in result.stdout and "kerastui show 1" in result.stdout
    (run,) = json.loads(cli("runs", "--json").stdout)
    assert run["experiment"] == "shapes_cnn" and run["status"] == "completed"


def test_demo_overrides_keep_it_short():
    from kerastui.cli.workspace import DEMO_OVERRIDES

    assert int(DEMO_OVERRIDES["fit.epochs"]) <= 5 and int(DEMO_OVERRIDES["data.limit"]) <= 4096
    assert "data.validation_limit" in DEMO_OVERRIDES


def test_demo_on_a_terminal_queues_the_offline_examples_and_follows_them(
    workspace, cli, monkeypatch
):
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    followed: list[int] = []
    monkeypatch.setattr("kerastui.cli.workspace.console", terminal)
    monkeypatch.setattr("kerastui.cli.workspace.dashboard_entry", lambda: None)
    monkeypatch.setattr(
        "kerastui.cli.workspace.follow_run", lambda store, run_id: followed.append(run_id) or 0
    )
    result = cli("demo")
    assert result.exit_code == 0, result.output
    runs = json.loads(cli("runs", "--json").stdout)
    experiments = {r["experiment"] for r in runs}
    assert "shapes_cnn" in experiments
    # Only offline data (nothing to download) and no sweep (one run per example).
    assert all(r["params"]["data.name"] in ("shapes", "sentiment", "spirals") for r in runs)
    assert all(r["status"] == "queued" and r["params"]["fit.epochs"] == 3 for r in runs)
    assert sorted(followed) == sorted(r["id"] for r in runs)
