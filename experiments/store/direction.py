"""Whether a metric improves downwards (losses, errors) or upwards (accuracy, AUC)."""

from __future__ import annotations

from typing import Literal

Direction = Literal["min", "max"]

# Name parts of metrics that are better when larger; everything else (losses,
# errors, false positives, learning rates) is taken as better when smaller.
_MAXIMISED = frozenset(
    {
        "acc",
        "accuracy",
        "auc",
        "precision",
        "recall",
        "f1",
        "fbeta",
        "iou",
        "r2",
        "score",
        "sensitivity",
        "specificity",
    }
)


def metric_direction(key: str) -> Direction:
    """ "max" for accuracy-like metric names, "min" for losses and everything else.

    A `val_` prefix is ignored; `true_positives` and `true_negatives` count as
    accuracy-like, `false_positives` as loss-like.

    Args:
        key: the metric name as Keras logs it (`val_accuracy`, `loss`, `auc`).

    Example:
        >>> metric_direction("val_sparse_categorical_accuracy"), metric_direction("val_loss")
        ('max', 'min')
    """
    parts = key.lower().removeprefix("val_").split("_")
    if "false" in parts or "loss" in parts or "error" in parts:
        return "min"
    if "true" in parts or _MAXIMISED.intersection(parts):
        return "max"
    return "min"


def is_better(candidate: float, incumbent: float | None, direction: Direction) -> bool:
    """Whether `candidate` beats `incumbent` (ties keep the incumbent).

    Args:
        candidate: the new value.
        incumbent: the best value so far, or None when there is none.
        direction: "min" or "max".

    Example:
        >>> is_better(0.2, 0.3, "min"), is_better(0.2, 0.3, "max")
        (True, False)
    """
    if incumbent is None:
        return True
    return candidate < incumbent if direction == "min" else candidate > incumbent
