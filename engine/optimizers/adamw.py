"""AdamW: Adam with decoupled weight decay on by default."""

from __future__ import annotations

from typing import Any

from engine.optimizers.adam import Adam
from engine.optimizers.optimizer import LearningRate


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), `weight_decay=0.004` by default.

    Before each Adam update, `w -= w * weight_decay * learning_rate`; this
    matches PyTorch's `AdamW`.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        weight_decay: the decoupled weight decay; must not be None.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the second moment.
        epsilon: small constant for numerical stability.
        amsgrad: use the AMSGrad variant.
        **kwargs: the base `Optimizer` arguments (clipnorm, use_ema, ...).

    Example:
        >>> optimizer = AdamW(learning_rate=1e-3, weight_decay=0.01)
        >>> optimizer.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = "adamw",
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError("AdamW needs a float `weight_decay`, got None; use Adam for no decay.")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            name=name,
            **kwargs,
        )
