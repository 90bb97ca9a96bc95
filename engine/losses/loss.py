"""The `Loss` base class and `LossFunctionWrapper`, Keras 3's loss API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.backend.config import standardize_dtype
from engine.backend.naming import to_snake_case, unique_name
from engine.backend.tensor import Tensor, convert_to_tensor
from engine.losses.fused import LossOp, kernel_of, run_kernel, squeeze_or_expand_to_same_rank
from engine.losses.reduction import merge_mask, reduce_loss, standardize_reduction
from engine.saving.serialization import serialize_keras_object


class Loss:
    """Base class of all losses: subclass it and implement `call(y_true, y_pred)`.

    Calling a loss computes the per-sample losses, weights them by
    `sample_weight` and by the mask of `y_pred` (`y_pred._keras_mask`), and
    reduces them. The result is a tensor the gradient tape differentiates.

    Args:
        name: the loss's name; derived from the class name when omitted.
        reduction: `"sum_over_batch_size"` (the default) and `"mean"` divide the
            weighted sum by the number of loss entries, `"sum"` returns the sum,
            `"mean_with_sample_weight"` divides by the sum of the weights, and
            `"none"` or None return the weighted per-sample losses.
        dtype: the dtype the loss computes in; floatx() when omitted.

    Example:
        >>> class MeanCubedError(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ops.mean(ops.abs(y_pred - y_true) ** 3, axis=-1)
        >>> MeanCubedError()(np.zeros((2, 3)), np.ones((2, 3))).numpy()
        array(1., dtype=float32)
    """

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ) -> None:
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg = dtype
        self._dtype = standardize_dtype(dtype)

    @property
    def dtype(self) -> str:
        """The dtype the loss computes in, as a string."""
        return self._dtype.name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """Return the reduced loss (per-sample losses with reduction `"none"`).

        Args:
            y_true: labels, a tensor or array-like.
            y_pred: predictions, a tensor or array-like.
            sample_weight: None, a scalar, one weight per sample `(batch,)`, or
                one weight per loss entry.
        """
        in_mask = y_pred._keras_mask if isinstance(y_pred, Tensor) else None
        op = self._loss_op(y_true, y_pred)
        mask = merge_mask(in_mask, op.mask)
        return reduce_loss(op, sample_weight, mask, self.reduction, self._dtype)

    def _loss_op(self, y_true: Any, y_pred: Any) -> LossOp:
        """The per-sample losses as a `LossOp`; subclasses with a fused kernel override it."""
        y_true = convert_to_tensor(y_true, dtype=self._dtype)
        y_pred = convert_to_tensor(y_pred, dtype=self._dtype)
        return LossOp.of_tensor(convert_to_tensor(self.call(y_true, y_pred)))

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """Return the per-sample losses; every subclass defines this."""
        raise TypeError(
            f"{type(self).__name__} must define call(y_true, y_pred) returning the per-sample "
            "losses; subclass engine.losses.Loss and implement it."
        )

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict."""
        config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        if self._dtype_arg is not None:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuild a loss from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """Turns a loss function `fn(y_true, y_pred, **kwargs)` into a `Loss`.

    Built-in loss functions run as one fused op together with the reduction;
    any other function runs as written and is reduced by a second op.

    Args:
        fn: returns the per-sample losses.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: see `Loss`.
        **kwargs: passed to `fn` on every call.

    Example:
        >>> loss = LossFunctionWrapper(huber, delta=0.5)
        >>> loss(np.zeros((2, 1)), np.full((2, 1), 2.0)).numpy()
        array(0.875, dtype=float32)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper needs a callable fn(y_true, y_pred); got {fn!r}.")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """Return `fn(y_true, y_pred, **kwargs)` after aligning the ranks."""
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _loss_op(self, y_true: Any, y_pred: Any) -> LossOp:
        kernel = kernel_of(self.fn)
        # A subclass that redefines call() must have its own call() run.
        if kernel is None or type(self).call is not LossFunctionWrapper.call:
            return super()._loss_op(y_true, y_pred)
        return run_kernel(kernel, y_true, y_pred, dtype=self._dtype, **self._fn_kwargs)

    def _base_config(self) -> dict[str, Any]:
        """`Loss.get_config()`: the built-in subclasses save their arguments, not `fn`."""
        return Loss.get_config(self)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = serialize_keras_object(self.fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        if "fn" in config:
            from engine.losses import deserialize

            config = {**config, "fn": deserialize(config["fn"])}
        return cls(**config)

    def __repr__(self) -> str:
        fn_name = getattr(self.fn, "__name__", repr(self.fn))
        return f"<LossFunctionWrapper({fn_name}, kwargs={self._fn_kwargs})>"
