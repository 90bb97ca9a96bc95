"""The allocator set-up the engine makes on first use: glibc keeps a step's large arrays' pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from engine import _allocator

# Five 10 MB arrays alive at once, freed, six times over, as an engine step
# allocates and frees its activations; prints the page faults of each round.
_ROUNDS = textwrap.dedent(
    """
    import json, resource
    import engine.backend  # what every model, layer and op imports first
    import numpy as np
    from engine._allocator import tune_allocator

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    counts = []
    for _ in range(6):
        before = faults()
        arrays = [np.ones((10 << 20) // 8) for _ in range(5)]
        del arrays
        counts.append(faults() - before)
    print(json.dumps({"tuned": tune_allocator(), "faults": counts}))
    """
)


def _run_rounds(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in _allocator._GLIBC_SETTINGS}
    clean.pop("GLIBC_TUNABLES", None)
    clean.pop(_allocator.ENV_MALLOC_TUNING, None)
    done = subprocess.run(
        [sys.executable, "-c", _ROUNDS],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(_allocator._glibc() is None, reason="the allocator set-up is for glibc")
def test_after_import_engine_repeated_steps_reuse_their_pages():
    tuned = _run_rounds()
    assert tuned["tuned"] is True
    # The first round faults the heap in; later rounds reuse it.
    assert sum(tuned["faults"][1:]) < 100, tuned
    # glibc left alone gives the top of the heap back after each round.
    plain = _run_rounds(**{_allocator.ENV_MALLOC_TUNING: "0"})
    assert plain["tuned"] is False
    assert min(plain["faults"][1:]) > 500, plain


class _FakeLibc:
    def __init__(self, accepts: bool = True) -> None:
        self.calls: list[tuple[int, int]] = []
        self.accepts = accepts

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1 if self.accepts else 0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, True),
        ({"KERASTUI_MALLOC_TUNING": "0"}, False),
        ({"KERASTUI_MALLOC_TUNING": " Off "}, False),
        ({"KERASTUI_MALLOC_TUNING": "false"}, False),
        ({"KERASTUI_MALLOC_TUNING": "1"}, True),
        ({"MALLOC_TRIM_THRESHOLD_": "1000000"}, False),
        ({"MALLOC_MMAP_THRESHOLD_": "1000000"}, False),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"}, False),
        ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"}, True),
    ],
    ids=[
        "default",
        "opt_out",
        "opt_out_off",
        "opt_out_false",
        "opt_in",
        "trim_env",
        "mmap_env",
        "tunables",
        "other_tunable",
    ],
)
def test_the_environment_decides_whether_the_thresholds_are_set(monkeypatch, env, expected):
    for name in (*_allocator._GLIBC_SETTINGS, "GLIBC_TUNABLES", _allocator.ENV_MALLOC_TUNING):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    libc = _FakeLibc()
    monkeypatch.setattr(_allocator, "_glibc", lambda: libc)
    monkeypatch.setattr(_allocator, "_applied", None)
    assert _allocator.tune_allocator() is expected
    expected_calls = [(-3, 32 << 20), (-1, 64 << 20)] if expected else []
    assert libc.calls == expected_calls
    # Once per process: a second call changes nothing.
    assert _allocator.tune_allocator() is expected
    assert libc.calls == expected_calls


def test_no_glibc_or_a_refused_setting_reports_false(monkeypatch):
    monkeypatch.delenv(_allocator.ENV_MALLOC_TUNING, raising=False)
    monkeypatch.setattr(_allocator, "_glibc", lambda: None)
    monkeypatch.setattr(_allocator, "_applied", None)
    assert _allocator.tune_allocator() is False
    refusing = _FakeLibc(accepts=False)
    monkeypatch.setattr(_allocator, "_glibc", lambda: refusing)
    monkeypatch.setattr(_allocator, "_applied", None)
    assert _allocator.tune_allocator() is False
    assert refusing.calls == [(-3, 32 << 20)]


def test_other_c_libraries_and_systems_are_left_alone(monkeypatch):
    def no_glibc(name: str) -> str | None:
        raise ValueError(name)  # what os.confstr raises where glibc's name is unknown

    monkeypatch.setattr(_allocator.os, "confstr", no_glibc)
    assert _allocator._glibc() is None
    monkeypatch.setattr(_allocator.os, "confstr", lambda name: None)
    assert _allocator._glibc() is None
    monkeypatch.setattr(_allocator.os, "confstr", lambda name: "glibc 2.36")
    monkeypatch.setattr(_allocator.sys, "platform", "darwin")
    assert _allocator._glibc() is None
