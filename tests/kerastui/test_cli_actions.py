"""`run`, `launch` and the commands that act on runs, with their error messages."""

from __future__ import annotations

import json

import pytest

from tests.kerastui.conftest import TINY

SETS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]


def test_run_trains_in_the_foreground_and_records_it(workspace, cli):
    result = cli("run", "shapes_cnn", *SETS)
    assert result.exit_code == 0, result.output
    assert "Epoch 1/2" in result.stdout and "Epoch 2/2" in result.stdout
    assert "completed" in result.stdout and "kerastui show 1" in result.stdout
    (run,) = json.loads(cli("runs", "--json").stdout)
    assert run["status"] == "completed" and run["epochs_done"] == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "no_such_spec.toml"), "no spec file 'no_such_spec.toml'"),
        (("run", "shapes_cnn", "--set", "fit.epochs=-1"), "fit.epochs"),
        (("run", "shapes_cnn", "--set", "nosuch.key=1"), "nosuch"),
        (("run", "shapes_cnn", "--set", "fit.epochs"), "expected KEY=VALUE"),
        (("launch", "shapes_cnn", "--set", "fit.batch_size=abc"), "fit.batch_size"),
        (("run", "shapes_sweep"), "kerastui launch shapes_sweep"),
    ],
)
def test_bad_specs_and_overrides_are_user_errors(workspace, cli, args, expected):
    result = cli(*args)
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.output
    assert json.loads(cli("runs", "--json").stdout) == []


def test_usage_errors_exit_2(workspace, cli):
    assert cli("runs", "--limit", "zero").exit_code == 2
    assert cli("show").exit_code == 2
    assert cli("no-such-command").exit_code == 2


def test_unreachable_database_is_one_sentence(workspace, cli):
    result = cli("--db", "postgresql://nobody@127.0.0.1:1/none", "runs")
    assert result.exit_code == 1
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.output
    result = cli("--db", "mysql://x/y", "runs")
    assert result.exit_code == 1 and "supports sqlite" in result.stderr


def test_launch_queues_and_prints_ids(workspace, cli):
    ids = json.loads(cli("launch", "shapes_cnn", *SETS, "--priority", "3", "--json").stdout)
    assert ids == [1]
    result = cli("launch", "shapes_cnn", *SETS)
    assert result.exit_code == 0 and "queued run 2" in result.stdout
    runs = json.loads(cli("runs", "--json").stdout)
    assert [(r["id"], r["status"], r["priority"]) for r in runs] == [
        (2, "queued", 0),
        (1, "queued", 3),
    ]


def test_launch_a_sweep_queues_every_trial(workspace, cli):
    ids = json.loads(cli("launch", "shapes_sweep", "--json").stdout)
    assert ids == [1, 2, 3, 4, 5, 6]
    runs = json.loads(cli("runs", "--json").stdout)
    assert {r["sweep_id"] for r in runs} == {1}
    grid = {
        (r["params"]["compile.optimizer.learning_rate"], r["params"]["fit.batch_size"])
        for r in runs
    }
    assert len(grid) == 6


def test_cancel_resume_rerun(trained, cli):
    assert "cancelled" in cli("cancel", "2").stdout
    assert json.loads(cli("show", "2", "--json").stdout)["status"] == "cancelled"
    result = cli("cancel", "2")
    assert result.exit_code == 1 and "only queued or running" in result.stderr
    result = cli("resume", "2")
    assert result.exit_code == 0 and "attempt 2" in result.stdout
    assert json.loads(cli("show", "2", "--json").stdout)["status"] == "queued"
    assert cli("resume", "1").exit_code == 1
    result = cli("rerun", "1", "--set", "fit.epochs=1")
    assert result.exit_code == 0 and "a rerun of 1" in result.stdout
    child = json.loads(cli("show", "3", "--json").stdout)
    assert child["parent_run_id"] == 1 and child["params"]["fit.epochs"] == 1
    assert child["params"]["data.limit"] == 64


def test_delete_asks_unless_yes(trained, cli):
    result = cli("delete", "1", input="n\n")
    assert result.exit_code == 1 and "nothing deleted" in result.stderr
    assert len(json.loads(cli("runs", "--json").stdout)) == 2
    assert cli("delete", "1", input="y\n").exit_code == 0
    assert cli("delete", "2", "--yes").exit_code == 0
    assert json.loads(cli("runs", "--json").stdout) == []


def test_tag_and_note(trained, cli):
    assert cli("tag", "1", "stage=final").exit_code == 0
    assert cli("note", "1", "lr looks too low").exit_code == 0
    detail = json.loads(cli("show", "1", "--json").stdout)
    assert detail["tags"]["stage"] == "final"
    assert [n["text"] for n in detail["notes"]] == ["lr looks too low"]
    assert cli("tag", "1", "=x").exit_code == 1
    assert cli("note", "1", "  ").exit_code == 1


def test_init_makes_a_workspace(workspace, cli, monkeypatch):
    monkeypatch.delenv("KERASTUI_DB")
    result = cli("init", "ws")
    assert result.exit_code == 0, result.output
    assert (workspace / "ws" / "experiments" / "shapes_cnn.toml").is_file()
    assert (workspace / "ws" / "data" / "kerastui.db").is_file()
    (workspace / "ws" / "experiments" / "shapes_cnn.toml").write_text("# mine\n")
    assert cli("init", "ws").exit_code == 0
    assert (workspace / "ws" / "experiments" / "shapes_cnn.toml").read_text() == "# mine\n"


def test_datasets_list_and_download(workspace, cli, monkeypatch):
    listed = {d["name"]: d for d in json.loads(cli("datasets", "list", "--json").stdout)}
    assert listed["shapes"]["builtin"] and not listed["mnist"]["cached"]
    assert "built in" in cli("datasets", "list").stdout
    assert "nothing to download" in cli("datasets", "download", "shapes").stdout
    result = cli("datasets", "download", "nosuch")
    assert result.exit_code == 1 and "no dataset named 'nosuch'" in result.stderr

    def offline(*args, **kwargs):
        from engine.datasets.download import DownloadError

        raise DownloadError("could not download https://example.org/mnist.npz (offline)")

    monkeypatch.setattr("engine.datasets.mnist.load_data", offline)
    monkeypatch.setattr("experiments.datasets.dataset_loaders", lambda: {"mnist": offline})
    result = cli("datasets", "download", "mnist")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "kerastui datasets download" in result.stderr


def test_worker_status_and_stop_without_workers(workspace, cli):
    result = cli("worker", "status")
    assert result.exit_code == 0 and "no worker alive" in result.stdout
    status = json.loads(cli("worker", "status", "--json").stdout)
    assert status == {"workers": [], "queued": 0, "running": []}
    assert "no worker running" in cli("worker", "stop").stdout


def test_help_lists_every_command(cli):
    out = cli("--help").stdout
    for command in (
        "init", "run", "launch", "worker", "runs", "show", "watch", "logs", "compare",
        "cancel", "resume", "rerun", "delete", "tag", "note", "export", "export-history",
        "export-model", "bundle", "import", "sql", "datasets", "db", "demo", "tui",
    ):  # fmt: skip
        assert f" {command} " in out, command


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "kerastui 0.1.0"


def test_dashboard_missing_is_one_sentence(workspace, cli, monkeypatch):
    monkeypatch.setattr("kerastui.cli.workspace.dashboard_entry", lambda: None)
    for args in ((), ("tui",)):
        result = cli(*args)
        assert result.exit_code == 1
        assert "dashboard is not available" in result.stderr


def test_dashboard_opens_on_the_database(workspace, cli, monkeypatch):
    opened = []
    monkeypatch.setattr("kerastui.cli.workspace.dashboard_entry", lambda: opened.append)
    assert cli().exit_code == 0 and cli("--db", "sqlite:///other.db", "tui").exit_code == 0
    assert opened[0].endswith("/data/kerastui.db") and opened[1].endswith("/other.db")


def test_ctrl_c_cancels_the_foreground_run_resumably(workspace, cli, monkeypatch):
    def interrupt(self, batch, logs=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("kerastui.cli.progress.RunProgress.on_train_batch_end", interrupt)
    result = cli("run", "shapes_cnn", *SETS)
    assert result.exit_code == 130
    assert "kerastui resume 1" in result.stderr and "Traceback" not in result.output
    detail = json.loads(cli("show", "1", "--json").stdout)
    assert detail["status"] == "cancelled"
    assert cli("resume", "1").exit_code == 0


def test_run_taken_by_a_background_worker_is_followed(workspace, cli, monkeypatch):
    from experiments.store import open_store

    def taken(self, run_id, worker_id):
        # A worker's poll claims the run between queueing and the foreground claim.
        return None

    followed = []
    monkeypatch.setattr("experiments.store.Store.claim_run", taken)
    monkeypatch.setattr(
        "kerastui.cli.training.follow_run", lambda store, run_id: followed.append(run_id) or 0
    )
    result = cli("run", "shapes_cnn", *SETS)
    assert result.exit_code == 0 and followed == [1]
    assert "taken by a background worker" in result.stdout
    assert open_store().get_run(1).status == "queued"
