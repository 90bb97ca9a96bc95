"""`runs`, `show`, `watch`, `logs`, `sql` and `db` on a database with a trained run."""

from __future__ import annotations

import json

from experiments.store import open_store
from kerastui.cli.records import main_metric_keys


def test_runs_json_contract(trained, cli):
    result = cli("runs", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [r["id"] for r in runs] == [2, 1]
    done = runs[1]
    for key in ("id", "name", "experiment", "status", "epochs_done", "epochs_total", "params"):
        assert key in done
    assert done["status"] == "completed" and done["epochs_done"] == 2 == done["epochs_total"]
    assert done["params"]["fit.epochs"] == 2
    assert set(done["metrics"]) >= {"final", "best"}
    assert done["metrics"]["final"]["loss"] > 0 and "val_accuracy" in done["metrics"]["best"]
    assert runs[0]["status"] == "queued" and runs[0]["metrics"]["final"] == {}


def test_runs_table_and_filters(trained, cli):
    result = cli("runs")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["id", "name", "experiment", "status", "epochs"]
    assert "completed" in result.stdout and "queued" in result.stdout and "2/2" in result.stdout
    only = json.loads(cli("runs", "--status", "queued", "--json").stdout)
    assert [r["id"] for r in only] == [2]
    assert len(json.loads(cli("runs", "--limit", "1", "--json").stdout)) == 1
    assert json.loads(cli("runs", "--experiment", "nope", "--json").stdout) == []


def test_runs_rejects_unknown_status(trained, cli):
    result = cli("runs", "--status", "finished")
    assert result.exit_code == 1
    assert "unknown status 'finished'" in result.stderr and "Traceback" not in result.output


def test_show_json_adds_history_and_checkpoints(trained, cli):
    detail = json.loads(cli("show", "1", "--json").stdout)
    assert [h["epoch"] for h in detail["history"]] == [1, 2]
    assert {"loss", "accuracy", "val_loss"} <= set(detail["history"][0])
    assert detail["checkpoints"] and any(c["is_last"] for c in detail["checkpoints"])
    assert detail["spec"]["fit"]["epochs"] == 2
    assert detail["environment"]["python"]


def test_show_by_name_prints_tables_and_charts(trained, cli):
    name = json.loads(cli("show", "1", "--json").stdout)["name"]
    result = cli("show", name)
    assert result.exit_code == 0
    out = result.stdout
    for heading in ("params", "metrics", "history", "checkpoints", "environment"):
        assert heading in out
    # The loss chart: a y axis with block characters.
    assert "│" in out and any(c in out for c in "▁▂▃▄▅▆▇█")


def test_unknown_run_is_one_sentence_exit_1(trained, cli):
    for args in (("show", "999"), ("watch", "nosuch-run-9"), ("logs", "999")):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stderr.count("\n") == 1 and "kerastui runs" in result.stderr


def test_watch_finished_run_returns_its_outcome(trained, cli):
    result = cli("watch", "1", "--interval", "0.1")
    assert result.exit_code == 0
    assert "completed" in result.stdout and "epoch 2" in result.stdout


def test_logs_prints_the_runs_lines(trained, cli):
    store = open_store()
    store.append_logs(1, ["Epoch 1/2 done", ("WARNING", "slow batch")])
    result = cli("logs", "1", "--follow")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-2].endswith("INFO    Epoch 1/2 done") and lines[-1].endswith("slow batch")


def test_sql_select_table_and_json(trained, cli):
    result = cli("sql", "SELECT run_id, status FROM run_overview ORDER BY run_id")
    assert result.exit_code == 0 and "2 row(s)" in result.stdout
    rows = json.loads(cli("sql", "SELECT run_id, status FROM run_overview", "--json").stdout)
    assert {r["status"] for r in rows} == {"completed", "queued"}


def test_sql_refuses_writes(trained, cli):
    result = cli("sql", "DELETE FROM runs")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(json.loads(cli("runs", "--json").stdout)) == 2


def test_db_info_and_upgrade(trained, cli):
    info = json.loads(cli("db", "info", "--json").stdout)
    assert info["backend"] == "sqlite" and info["counts"]["runs"] == 2
    assert info["revision"] == info["head"]
    result = cli("db", "upgrade")
    assert result.exit_code == 0 and "revision" in result.stdout


def test_main_metric_keys_prefers_loss_and_accuracy():
    keys = ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert main_metric_keys(keys) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert main_metric_keys(["mae", "loss"]) == ["loss", "mae"]


def test_runs_where_and_sort(trained, cli):
    ids = [r["id"] for r in json.loads(cli("runs", "--sort", "id", "--json").stdout)]
    assert ids == [1, 2]
    done = cli("runs", "--where", 'status = "completed" and metrics.loss > 0', "--json")
    assert [r["id"] for r in json.loads(done.stdout)] == [1]
    result = cli("runs", "--where", "metrics.loss >")
    assert result.exit_code == 1 and "^" in result.stderr and "Traceback" not in result.output


def test_compare_json_and_table(trained, cli):
    data = json.loads(cli("compare", "1", "2", "--json").stdout)
    assert [r["id"] for r in data["runs"]] == [1, 2]
    assert set(data["params"]["compile.optimizer.learning_rate"].values()) == {0.001, 0.003}
    assert data["best_run"]["loss"] == 1
    out = cli("compare", "1", "2").stdout
    assert "params that differ" in out and "compile.optimizer.learning_rate" in out
    assert "loss (min)" in out and "│" in out


def test_compare_needs_two_known_runs(trained, cli):
    assert cli("compare", "1").exit_code == 1
    result = cli("compare", "999998", "999999")
    assert result.exit_code == 1 and "no run has id or name" in result.stderr
