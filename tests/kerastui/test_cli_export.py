"""`export`, `export-history`, `export-model`, `bundle` and `import`."""

from __future__ import annotations

import csv
import json

import numpy as np

from engine.models import load_model
from experiments.store import forget_stores


def test_export_each_format(trained, cli):
    for fmt in ("csv", "json", "md"):
        result = cli("export", "1", "2", "--format", fmt, "--output", f"runs.{fmt}")
        assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((trained / "runs.csv").read_text().splitlines()))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert json.loads((trained / "runs.json").read_text())[0]["status"] == "completed"
    assert (trained / "runs.md").read_text().startswith("| id |")


def test_export_history_is_long_form(trained, cli):
    assert cli("export-history", "1", "--output", "h.csv").exit_code == 0
    rows = list(csv.DictReader((trained / "h.csv").read_text().splitlines()))
    assert {r["key"] for r in rows} >= {"loss", "val_loss"}
    assert sorted({r["epoch"] for r in rows}) == ["1", "2"]


def test_export_model_loads_and_predicts(trained, cli):
    assert cli("export-model", "1", "--best", "--output", "best.keras").exit_code == 0
    assert cli("export-model", "1", "--epoch", "2", "--output", "e2.npz").exit_code == 0
    model = load_model(str(trained / "best.keras"))
    assert model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape == (2, 10)
    with np.load(trained / "e2.npz", allow_pickle=False) as weights:
        assert len(weights.files) == len(model.get_weights())


def test_export_model_errors_are_sentences(trained, cli):
    for args, expected in (
        (("export-model", "1", "--epoch", "9", "-o", "x.keras"), "no checkpoint of epoch 9"),
        (("export-model", "2", "-o", "x.keras"), "no checkpoints"),
        (("export-model", "999999", "-o", "x.keras"), "no run has id"),
        (("export-model", "1", "--best", "--epoch", "1", "-o", "x.keras"), "not both"),
    ):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert expected in result.stderr and "Traceback" not in result.output
    assert cli("export", "1", "--format", "xml", "-o", "x").exit_code == 2


def test_bundle_and_import_into_another_database(trained, cli, tmp_path):
    assert cli("bundle", "1", "--output", "run1.ktb").exit_code == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    result = cli("--db", other, "import", "run1.ktb")
    assert result.exit_code == 0 and "imported run 1" in result.stdout
    forget_stores()
    detail = json.loads(cli("--db", other, "show", "1", "--json").stdout)
    original = json.loads(cli("show", "1", "--json").stdout)
    assert detail["history"] == original["history"]
    assert len(detail["checkpoints"]) == len(original["checkpoints"])
    result = cli("import", "missing.ktb")
    assert result.exit_code == 1 and "no bundle file" in result.stderr
