"""Writing specs back to TOML: what is written reads back to the same spec."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from experiments.spec import list_examples, read_spec_file, resolve, validate_spec
from experiments.spec.overrides import parse_value
from experiments.spec.writing import format_value, spec_toml, write_spec_file


@pytest.mark.parametrize("name", list_examples())
def test_every_example_reads_back_equal_raw_and_resolved(name: str) -> None:
    raw = read_spec_file(name)
    assert tomllib.loads(spec_toml(raw)) == raw
    resolved = resolve(validate_spec(raw))
    # A resolved spec holds Nones (absent optional fields): left out, the spec is the same.
    assert validate_spec(tomllib.loads(spec_toml(resolved))) == validate_spec(raw)


@pytest.mark.parametrize(
    "value",
    [
        0,
        -(2**63),
        3e-4,
        1.0,
        1e100,
        float("inf"),
        -float("inf"),
        True,
        "",
        "relu",
        'quote " and \\ backslash',
        "tab\tnewline\nbell\x07 delete\x7f é ✓",
        [3, 3],
        [],
        [[1, 2], ["a"]],
        {"type": "Adam", "learning_rate": 0.001},
        {"fit.batch_size": [32, 64], "odd key": {"nested": True}},
        {},
    ],
)
def test_inline_values_read_back_as_toml(value: object) -> None:
    assert tomllib.loads(f"v = {format_value(value)}")["v"] == value
    assert parse_value(format_value(value)) == value


def test_nan_and_values_toml_cannot_hold() -> None:
    assert math.isnan(tomllib.loads(f"v = {format_value(float('nan'))}")["v"])
    with pytest.raises(ValueError, match="64 bits"):
        format_value(2**64)
    with pytest.raises(ValueError, match="no null"):
        format_value([1, None])
    with pytest.raises(ValueError, match="cannot hold"):
        format_value(object())


def test_long_tables_become_sections_and_blocks() -> None:
    raw = {
        "data": {"name": "x", "options": {f"option_{i}": i for i in range(12)}},
        "model": {
            "layers": [{"type": "Dense", "units": i, "activation": "relu"} for i in range(4)]
        },
    }
    text = spec_toml(raw)
    assert "[data.options]" in text and text.count("[[model.layers]]") == 4
    assert tomllib.loads(text) == raw
    assert all(len(line) <= 88 for line in text.splitlines())


def test_write_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    raw = read_spec_file("shapes_cnn")
    target = tmp_path / "experiments" / "mine.toml"
    assert write_spec_file(raw, target) == target
    assert tomllib.loads(target.read_text()) == raw
    raw["fit"]["epochs"] = 2
    with pytest.raises(FileExistsError, match="confirm to overwrite"):
        write_spec_file(raw, target)
    assert tomllib.loads(target.read_text())["fit"]["epochs"] == 10
    write_spec_file(raw, target, overwrite=True)
    assert tomllib.loads(target.read_text())["fit"]["epochs"] == 2
    # The temporary file of the atomic write is gone.
    assert [p.name for p in target.parent.iterdir()] == ["mine.toml"]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "spec.toml"
    target.write_text("[fit]\nepochs = 1\n")
    with pytest.raises(ValueError):
        write_spec_file({"fit": {"epochs": [1, None]}}, target, overwrite=True)
    assert target.read_text() == "[fit]\nepochs = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.toml"]
