"""`RecurrentCell`: what SimpleRNNCell, LSTMCell and GRUCell share.

The arguments, the `kernel` / `recurrent_kernel` / `bias` weights, the config,
the zero initial state, and `_run_sequence`: the hook through which `RNN`
runs a built-in cell over a whole sequence as one fused op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine import activations, constraints, initializers, regularizers
from engine.backend.random import SeedGenerator
from engine.backend.tensor import Tensor
from engine.layers.layer import Layer
from engine.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from engine.ops.rnn import fusable_activation


class RecurrentCell(Layer, DropoutRNNCell):
    """Base of the built-in cells: `gates * units` columns in each kernel.

    Subclasses set `gates`, implement the one-step `call` with ops (which is
    what `RNN` uses for stacked cells and custom activations) and `_fused`,
    which runs the matching op from `engine.ops.rnn` over a whole sequence.

    Args:
        units: the dimensionality of the output and of each state.
        activation: the output / candidate activation.
        recurrent_activation: the gates' activation (None for cells without gates).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: projections.
        dropout: fraction of the input units to drop (one mask per sequence).
        recurrent_dropout: fraction of the recurrent state units to drop.
        seed: seed of the dropout masks.

    Example:
        >>> cell = LSTMCell(4)
        >>> cell.build((None, 3))
        >>> [w.shape for w in cell.weights]
        [(3, 16), (4, 16), (16,)]
    """

    gates = 1
    # `_fused(sequences, initial_state, **options)`: the cell's op from engine.ops.rnn.
    _fused: Callable[..., Any]

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"{type(self).__name__} units must be a positive integer, got {units!r}."
            )
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = (
            None if recurrent_activation is None else activations.get(recurrent_activation)
        )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.state_size: Any = self.units
        self.output_size = self.units

    # Weights ---------------------------------------------------------------------------
    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def _bias_initial_value(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape: Any) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature dimension, got input shape "
                f"{tuple(input_shape)}."
            )
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(in_dim, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        self.bias = (
            self.add_weight(
                shape=self._bias_shape(),
                initializer=self._bias_initial_value(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
            if self.use_bias
            else None
        )
        self.built = True

    def get_initial_state(self, batch_size: int | None = None) -> list[Tensor]:
        """Zero states, one `(batch_size, units)` tensor per state."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [Tensor(np.zeros((batch_size, s), dtype=self.dtype)) for s in sizes]

    # One step with ops ---------------------------------------------------------------
    def _step_dropout(self, inputs: Any, h: Any, training: bool) -> tuple[Any, Any]:
        """The cached dropout masks for a step, None outside training."""
        if not training:
            return None, None
        return self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(h)

    # A whole sequence with the fused op ------------------------------------------------
    def _fusable(self) -> bool:
        acts = [self.activation, self.recurrent_activation]
        return all(fn is None or fusable_activation(fn) for fn in acts)

    def _run_sequence(
        self,
        sequences: Any,
        initial_state: list[Any],
        mask: np.ndarray | None,
        training: bool,
        *,
        go_backwards: bool,
        return_sequences: bool,
        zero_output_for_mask: bool,
        need_states: bool,
    ) -> tuple[Any, list[Any]] | None:
        """Run the cell over `sequences` as one op; None when it must go step by step."""
        if not self._fusable():
            return None
        dmask, rmask = self._sequence_dropout_masks(sequences, initial_state[0], training)
        result = self._fused(
            sequences,
            initial_state,
            mask=mask,
            go_backwards=go_backwards,
            return_sequences=return_sequences,
            return_state=need_states,
            zero_output_for_mask=zero_output_for_mask,
            dropout_mask=dmask,
            recurrent_dropout_mask=rmask,
        )
        if need_states:
            return result[0], list(result[1:])
        return result, []

    # Serialization ----------------------------------------------------------------------
    def _cell_config(self) -> dict[str, Any]:
        """The constructor arguments shared by the cells (and their layers), in Keras order."""
        config: dict[str, Any] = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
        }
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update(
            {
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self._cell_config())
        return config


def cell_property(name: str) -> property:
    """A read-only property of a recurrent layer that reads its cell's attribute."""
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


def recurrent_layer_config(layer: Any, base: dict[str, Any]) -> dict[str, Any]:
    """A fused recurrent layer's config: the RNN options plus its cell's arguments."""
    from engine import regularizers

    config = {k: v for k, v in base.items() if k != "cell"}
    config.update(layer.cell._cell_config())
    config["activity_regularizer"] = regularizers.serialize(layer.activity_regularizer)
    return config
