"""`LambdaCallback`: a callback made of plain functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.callbacks.callback import Callback
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class LambdaCallback(Callback):
    """Build a callback on the fly from functions, one per hook.

    The functions receive the hook's arguments positionally:
    `on_epoch_begin(epoch, logs)`, `on_train_begin(logs)`,
    `on_train_batch_end(batch, logs)`, and so on for every `Callback` hook.

    Args:
        on_epoch_begin: called at the start of every epoch.
        on_epoch_end: called at the end of every epoch.
        on_train_begin: called when training starts.
        on_train_end: called when training ends.
        on_train_batch_begin: called before every training batch.
        on_train_batch_end: called after every training batch.
        **kwargs: any other hook by name, e.g. `on_test_end=fn` or
            `on_predict_batch_end=fn`.

    Example:
        >>> batch_print = engine.callbacks.LambdaCallback(
        ...     on_train_batch_begin=lambda batch, logs: print(batch))
        >>> model.fit(x, y, callbacks=[batch_print])
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(
                f"LambdaCallback got unknown hook(s) {', '.join(unknown)}; hooks are: "
                f"{', '.join(_HOOKS)}."
            )
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        self._hooks: dict[str, Callable[..., Any]] = {}
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(
                    f"LambdaCallback {name} must be a function, got {type(fn).__name__}."
                )
            self._hooks[name] = fn
            # An instance attribute shadows the class's no-op hook.
            setattr(self, name, fn)

    def get_config(self) -> dict[str, Any]:
        """Return the hooks as a JSON-able dict (each must be a named, registered function)."""
        return {name: serialize_keras_object(fn) for name, fn in self._hooks.items()}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> LambdaCallback:
        """Create a `LambdaCallback` from `get_config()` output."""
        hooks = {
            name: deserialize_keras_object(
                item, custom_objects=custom_objects, kind="hook function"
            )
            for name, item in config.items()
        }
        return cls(**hooks)
