"""What `compile` sets up: the loss over all outputs and the metrics per output."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import Tensor


def _resolve_loss(identifier: Any) -> Any:
    from engine import losses

    if identifier is None:
        return None
    obj = losses.get(identifier) if isinstance(identifier, (str, dict)) else identifier
    if isinstance(obj, losses.Loss):
        return obj
    if isinstance(obj, type) and issubclass(obj, losses.Loss):
        return obj()
    if callable(obj):
        return losses.LossFunctionWrapper(obj, name=getattr(obj, "__name__", "loss"))
    raise ValueError(
        f"Could not interpret loss {identifier!r}: pass a loss name, Loss object or function."
    )


def _per_output(value: Any, output_names: list[str], what: str) -> list[Any]:
    """Spread a per-output argument (single, list or dict) over the outputs."""
    n = len(output_names)
    if isinstance(value, dict):
        unknown = set(value) - set(output_names)
        if unknown:
            raise ValueError(
                f"{what} names outputs {sorted(unknown)} that the model does not have; "
                f"its outputs are {output_names}."
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise ValueError(f"{what} has {len(value)} entries but the model has {n} outputs.")
        return list(value)
    return [value] * n


class CompileLoss:
    """The total training loss: weighted per-output losses plus layer losses.

    Args:
        loss: one loss, or a list/dict with one per output.
        loss_weights: optional scalars (list/dict) weighting each output's loss.
        output_names: the model's output names.
    """

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]) -> None:
        self.output_names = output_names
        if isinstance(loss, (list, tuple)) and len(output_names) == 1 and len(loss) == 1:
            loss = loss[0]
        self.losses = [_resolve_loss(item) for item in _per_output(loss, output_names, "loss")]
        weights = (
            _per_output(loss_weights, output_names, "loss_weights")
            if loss_weights is not None
            else None
        )
        self.loss_weights = [
            1.0 if w is None else float(w) for w in (weights or [None] * len(output_names))
        ]
        self.config = loss

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Any, list[float]]:
        """Return the total loss tensor and each output's loss value."""
        y_true_list = _flat_targets(y_true, self.output_names)
        y_pred_list = tree.flatten(y_pred)
        sw_list = (
            _flat_targets(sample_weight, self.output_names)
            if tree.is_nested(sample_weight)
            else [sample_weight] * len(y_pred_list)
        )
        total: Any = None
        per_output: list[float] = []
        for loss_fn, weight, yt, yp, sw in zip(
            self.losses, self.loss_weights, y_true_list, y_pred_list, sw_list
        ):
            if loss_fn is None or yt is None:
                continue
            value = loss_fn(yt, yp, sample_weight=sw)
            per_output.append(
                float(np.asarray(value.value if isinstance(value, Tensor) else value))
            )
            term = value if weight == 1.0 else value * weight
            total = term if total is None else total + term
        if total is None:
            raise ValueError(
                "No loss to compute: the model was compiled without a loss "
                "or fit() got no targets (y)."
            )
        return total, per_output


def _flat_targets(y: Any, output_names: list[str]) -> list[Any]:
    if isinstance(y, dict):
        return [y.get(name) for name in output_names]
    if isinstance(y, (list, tuple)) and len(output_names) > 1:
        return list(y)
    if len(output_names) > 1:
        raise ValueError(
            f"The model has {len(output_names)} outputs but got a single target array; "
            "pass a list or a dict of targets, one per output."
        )
    return [y]


class CompileMetrics:
    """The metrics given to `compile`, built on the first batch from its shapes.

    Args:
        metrics: metrics for every output (a list), or per output (list of lists / dict).
        weighted_metrics: the same, updated with sample weights.
        output_names: the model's output names.
    """

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list[str]) -> None:
        self.output_names = output_names
        self._metrics_config = metrics
        self._weighted_config = weighted_metrics
        self.built = False
        self._entries: list[tuple[int, Any, bool]] = []

    def _normalize(self, config: Any) -> list[list[Any]]:
        n = len(self.output_names)
        if config is None:
            return [[] for _ in range(n)]
        if isinstance(config, dict):
            per = _per_output(config, self.output_names, "metrics")
            return [
                [] if m is None else (list(m) if isinstance(m, (list, tuple)) else [m]) for m in per
            ]
        if isinstance(config, (list, tuple)):
            if (
                n > 1
                and len(config) == n
                and all(isinstance(m, (list, tuple)) or m is None for m in config)
            ):
                return [list(m or []) for m in config]
            return [list(config) for _ in range(n)]
        return [[config] for _ in range(n)]

    def build(self, y_true: Any, y_pred: Any) -> None:
        from engine import metrics as metrics_module

        yt = _flat_targets(y_true, self.output_names)
        yp = [np.asarray(p.value if isinstance(p, Tensor) else p) for p in tree.flatten(y_pred)]
        multi = len(self.output_names) > 1
        for weighted, config in ((False, self._metrics_config), (True, self._weighted_config)):
            for i, items in enumerate(self._normalize(config)):
                for identifier in items:
                    if yt[i] is None:
                        continue
                    metric = metrics_module.get_metric(identifier, yt[i], yp[i])
                    if multi:
                        metric.name = f"{self.output_names[i]}_{metric.name}"
                    if weighted and any(m.name == metric.name for _, m, _ in self._entries):
                        metric.name = f"weighted_{metric.name}"
                    self._entries.append((i, metric, weighted))
        self.built = True

    @property
    def metrics(self) -> list[Any]:
        return [m for _, m, _ in self._entries]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        if not self._entries:
            return
        yt = _flat_targets(y_true, self.output_names)
        yp = tree.flatten(y_pred)
        for i, metric, weighted in self._entries:
            sw = sample_weight if weighted else None
            if tree.is_nested(sw):
                sw = _flat_targets(sw, self.output_names)[i]
            metric.update_state(yt[i], yp[i], sample_weight=sw)

    def reset_state(self) -> None:
        for _, metric, _ in self._entries:
            metric.reset_state()

    def result(self) -> dict[str, Any]:
        out = {}
        for _, metric, _ in self._entries:
            value = metric.result()
            out[metric.name] = _to_python(value)
        return out


def _to_python(value: Any) -> Any:
    value = value.value if isinstance(value, Tensor) else value
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr


class MeanTracker:
    """A running, weighted mean of a scalar (the `loss` entry of the logs)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, value: float, weight: float = 1.0) -> None:
        self.total += float(value) * weight
        self.count += weight

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0
