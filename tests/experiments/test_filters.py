"""Filter and sort expressions: they select what equivalent SQL selects, and refuse bad input."""

from __future__ import annotations

import pytest

from experiments.filters import FilterError, parse_filter, parse_sort
from experiments.store import Store
from experiments.submit import submit
from tests.experiments.spec_helpers import mlp_raw


@pytest.fixture
def populated(store: Store) -> dict[str, int]:
    ids = {}
    for i, (lr, bs, status, acc) in enumerate(
        [
            (0.01, 32, "completed", 0.95),
            (0.001, 64, "completed", 0.91),
            (0.003, 64, "failed", 0.40),
            (0.001, 32, "completed", 0.70),
        ]
    ):
        run_id = submit(
            mlp_raw(),
            store,
            {"compile.optimizer.learning_rate": str(lr), "fit.batch_size": str(bs)},
            name=f"run-{i}",
        )
        store.claim_run(run_id, "w")
        store.log_metrics(
            run_id,
            [
                {"key": "val_accuracy", "epoch": 1, "step": 1, "value": acc - 0.1, "kind": "epoch"},
                {"key": "val_accuracy", "epoch": 2, "step": 2, "value": acc, "kind": "epoch"},
                {"key": "val_loss", "epoch": 2, "step": 2, "value": 1.0 - acc, "kind": "epoch"},
            ],
        )
        if status == "completed":
            store.mark_completed(run_id)
        else:
            store.mark_failed(run_id, "boom")
        ids[f"run-{i}"] = run_id
    store.set_tag(ids["run-1"], "stage", "final")
    return ids


def names(store: Store, expr: str, sort: str | None = None) -> list[str]:
    order = parse_sort(sort) if sort else None
    return [r.name for r in store.list_runs(where=parse_filter(expr), order_by=order)]


def sql_names(store: Store, sql: str) -> set[str]:
    return {row[0] for row in store.query_readonly(sql).rows}


@pytest.mark.parametrize(
    "expr,sql",
    [
        (
            'metrics.val_accuracy > 0.9 and status = "completed"',
            "SELECT r.name FROM runs r JOIN metric_summaries s ON s.run_id = r.id "
            "WHERE s.key = 'val_accuracy' AND s.kind = 'epoch' AND s.final_value > 0.9 "
            "AND r.status = 'completed'",
        ),
        (
            "params.fit.batch_size = 64",
            "SELECT r.name FROM runs r JOIN params p ON p.run_id = r.id "
            "WHERE p.key = 'fit.batch_size' AND p.value_num = 64",
        ),
        (
            'params.fit.batch_size = 32 and (status = "failed" or best.val_accuracy >= 0.95)',
            "SELECT r.name FROM runs r JOIN params p ON p.run_id = r.id "
            "JOIN metric_summaries s ON s.run_id = r.id AND s.key = 'val_accuracy' "
            "AND s.kind = 'epoch' WHERE p.key = 'fit.batch_size' AND p.value_num = 32 "
            "AND (r.status = 'failed' OR s.best_value >= 0.95)",
        ),
        (
            'not status = "completed"',
            "SELECT name FROM runs WHERE status <> 'completed'",
        ),
        (
            "params.compile.optimizer.learning_rate in (0.001, 0.003)",
            "SELECT r.name FROM runs r JOIN params p ON p.run_id = r.id "
            "WHERE p.key = 'compile.optimizer.learning_rate' AND p.value_num IN (0.001, 0.003)",
        ),
        (
            'tags.stage = "final"',
            "SELECT r.name FROM runs r JOIN tags t ON t.run_id = r.id "
            "WHERE t.key = 'stage' AND t.value = 'final'",
        ),
        (
            'name contains "run-"',
            "SELECT name FROM runs WHERE name LIKE 'run-%'",
        ),
        (
            "metrics.nonexistent is null",
            "SELECT name FROM runs",
        ),
    ],
)
def test_filters_match_hand_written_sql(store: Store, populated: dict[str, int], expr, sql):
    expected = sql_names(store, sql)
    assert expected, "the reference SQL must select something for the comparison to mean anything"
    assert set(names(store, expr)) == expected


def test_sort_by_metric_and_param(store: Store, populated: dict[str, int]):
    assert names(store, 'status = "completed"', "-metrics.val_accuracy") == [
        "run-0",
        "run-1",
        "run-3",
    ]
    assert names(store, 'status = "completed"', "params.fit.batch_size desc, id")[0] == "run-1"


HOSTILE = [
    "",
    "status",
    "status =",
    'status = "completed"; DROP TABLE runs',
    "status = 'completed' --",
    "status = completed",
    "DROP TABLE runs",
    "1 = 1",
    'status = "unterminated',
    "metrics.val_accuracy > 0.9 and",
    "(status = 'x'",
    "status = 'x')",
    "nosuchfield = 1",
    "params. = 1",
    "metrics.val_loss.worst < 1",
    "status = 'a' union select * from runs",
    "status == == 'a'",
    "status in ('a' 'b')",
    "status is 'null'",
    "`status` = 1",
    "status = 1 or or status = 2",
    "name contains 5",
]


@pytest.mark.parametrize("expr", HOSTILE)
def test_malformed_or_hostile_filters_are_refused_and_touch_nothing(store, populated, expr):
    before = store.count_runs()
    with pytest.raises(FilterError) as err:
        parse_filter(expr)
    assert str(err.value)
    assert store.count_runs() == before == 4


def test_error_points_at_the_bad_token():
    with pytest.raises(FilterError) as err:
        parse_filter('status = "x"; DROP TABLE runs')
    message = str(err.value)
    assert "';'" in message and "position 13" in message
    assert message.splitlines()[-1].index("^") == message.splitlines()[-2].index(";")


@pytest.mark.parametrize("sort", ["", "-", "metrics.val_loss sideways", "drop;table", "bogus"])
def test_bad_sort_keys_are_refused(sort):
    with pytest.raises(FilterError):
        parse_sort(sort)


def test_string_literals_are_bound_parameters_not_sql(store: Store, populated: dict[str, int]):
    assert names(store, "name = \"x' or '1'='1\"") == []
    assert store.count_runs() == 4
