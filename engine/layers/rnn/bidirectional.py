"""`Bidirectional`: run a recurrent layer forwards and backwards and merge the results."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import Tensor, record
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.core import as_array

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _reverse_time(x: Any) -> Tensor:
    """`x[:, ::-1]` as one tape entry (the gradient is reversed back)."""
    a = as_array(x)
    return record(
        np.ascontiguousarray(a[:, ::-1]),
        (x,),
        lambda g, n: (np.ascontiguousarray(g[:, ::-1]),),
    )


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: a forward and a backward copy of `layer`.

    Both copies are rebuilt from `layer`'s config (so they have fresh weights):
    the backward one with `go_backwards=True`. With `return_sequences`, the
    backward outputs are reversed back into time order before merging, and
    masked timesteps output zeros (`zero_output_for_mask`) in both directions.
    The weights are the forward layer's, then the backward layer's.

    Args:
        layer: a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`, ...).
        merge_mode: how to combine the two outputs: `"concat"` (default),
            `"sum"`, `"mul"`, `"ave"`, or None to return both as a list.
        weights: optional initial weights (forward then backward).
        backward_layer: an explicit backward layer; it must have
            `go_backwards` opposite to `layer`'s and the same
            `return_sequences`, `return_state` and `stateful`.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: the forward layer's initial states followed by the
            backward layer's.
        mask: boolean `(batch, timesteps)`.
        training: whether dropout is active.

    Example:
        >>> layer = Bidirectional(LSTM(4, return_sequences=True))
        >>> layer(np.ones((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Layer | None = None,
        **kwargs: Any,
    ) -> None:
        from engine.layers import deserialize, serialize

        if not isinstance(layer, Layer):
            raise ValueError(
                f"Bidirectional wraps a recurrent Layer instance such as LSTM(...), got {layer!r}."
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"backward_layer must be a Layer instance, got {backward_layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge_mode {merge_mode!r}; use 'concat', 'sum', 'mul', 'ave' or None."
            )
        super().__init__(weights=weights, **kwargs)
        config = serialize(layer)
        config["config"]["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        self.forward_layer = deserialize(config)
        if backward_layer is None:
            config = serialize(layer)
            config["config"]["go_backwards"] = True
            config["config"]["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            self.backward_layer = deserialize(config)
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _verify_layer_config(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "The forward and backward layers must have different go_backwards values, got "
                f"{forward.go_backwards} for both."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            a, b = getattr(forward, attr, None), getattr(backward, attr, None)
            if a != b:
                raise ValueError(
                    f"The forward and backward layers must have the same {attr}, got {a} for the "
                    f"forward layer and {b} for the backward layer."
                )

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        self.forward_layer._maybe_build(tuple(sequences_shape))
        self.backward_layer._maybe_build(tuple(sequences_shape))
        self.built = True

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states: list[Any] = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            output: Any = (*tuple(shape)[:-1], shape[-1] * 2)
        elif self.merge_mode is None:
            output = [tuple(shape), tuple(shape)]
        else:
            output = tuple(shape)
        if self.return_state:
            outputs = list(output) if self.merge_mode is None else [output]
            return [*outputs, *states, *states]
        return output

    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: bool | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if self.forward_layer._call_has_training:
            kwargs["training"] = training
        if self.forward_layer._call_has_mask:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states: list[Any] = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = _reverse_time(y_rev)
        if self.merge_mode == "concat":
            output: Any = onp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = onp.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = onp.multiply(onp.add(y, y_rev), 0.5)
        elif self.merge_mode == "mul":
            output = onp.multiply(y, y_rev)
        else:
            output = [y, y_rev]
        if self.return_state:
            outputs = output if self.merge_mode is None else [output]
            return [*outputs, *states]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if tree.is_nested(mask):
            mask = tree.flatten(mask)[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = len(tree.flatten(getattr(self.forward_layer, "state_size", [])))
            return [*masks, *([None] * (2 * n_states))]
        return masks if self.merge_mode is None else output_mask

    @property
    def states(self) -> Any:
        forward = getattr(self.forward_layer, "states", None)
        backward = getattr(self.backward_layer, "states", None)
        if forward and backward:
            return [*forward, *backward]
        return None

    def reset_state(self) -> None:
        """Reset both layers' states (stateful layers only)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} is not stateful; it has no states to reset.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        """Alias of `reset_state`."""
        self.reset_state()

    def get_config(self) -> dict[str, Any]:
        from engine.layers import serialize

        config = super().get_config()
        config.update(
            {
                "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer),
                "backward_layer": serialize(self.backward_layer),
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Bidirectional:
        from engine.layers import deserialize

        config = dict(config)
        config["layer"] = deserialize(config["layer"], custom_objects=custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize(backward, custom_objects=custom_objects)
        return cls(**config)
