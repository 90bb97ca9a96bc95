"""The `kerastui demo` command: trains the quickstart model and reports test accuracy."""

from __future__ import annotations

import pytest

from kerastui.__main__ import main


def test_demo_trains_and_reports_accuracy(capsys):
    assert main(["demo", "--epochs", "3", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "two-spirals test set" in out and "accuracy" in out


def test_demo_rejects_non_positive_epochs(capsys):
    assert main(["demo", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "kerastui 0.1.0" in capsys.readouterr().out
