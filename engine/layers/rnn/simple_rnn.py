"""`SimpleRNNCell` and `SimpleRNN`: the fully connected recurrent layer."""

from __future__ import annotations

from typing import Any

from engine.backend import tree
from engine.layers.rnn.recurrent_cell import RecurrentCell, cell_property, recurrent_layer_config
from engine.layers.rnn.rnn import RNN
from engine.ops import numpy as onp
from engine.ops import rnn as rnn_ops


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected RNN: `h = activation(x W + h R + b)`.

    Args:
        units: the dimensionality of the output (and of the state).
        activation: the activation (`tanh`; None means linear).
        use_bias: whether to add a bias vector.
        kernel_initializer: initializer of `kernel`, `(features, units)`.
        recurrent_initializer: initializer of `recurrent_kernel`, `(units, units)`.
        bias_initializer: initializer of `bias`, `(units,)`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training.
        seed: seed of the dropout masks.

    Example:
        >>> RNN(SimpleRNNCell(4), return_sequences=True)(np.ones((2, 5, 3), "float32")).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
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
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )

    def call(self, sequence: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        prev = states[0] if tree.is_nested(states) else states
        dp_mask, rec_mask = self._step_dropout(sequence, prev, training)
        if dp_mask is not None:
            sequence = onp.multiply(sequence, dp_mask)
        h = onp.matmul(sequence, self.kernel)
        if self.bias is not None:
            h = onp.add(h, self.bias)
        if rec_mask is not None:
            prev = onp.multiply(prev, rec_mask)
        output = self.activation(onp.add(h, onp.matmul(prev, self.recurrent_kernel)))
        return output, [output] if tree.is_nested(states) else output

    def _fused(self, sequences: Any, initial_state: list[Any], **options: Any) -> Any:
        return rnn_ops.simple_rnn(
            sequences,
            initial_state[0],
            self.kernel,
            self.recurrent_kernel,
            self.bias,
            activation=self.activation,
            **options,
        )


class SimpleRNN(RNN):
    """Fully connected RNN whose output is fed back as the next step's state.

    Runs as one fused op over the whole sequence (with a hand-written
    backward through time) for built-in elementwise activations.

    Args:
        units: the dimensionality of the output.
        activation: the activation (`tanh`; None means linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        activity_regularizer: penalty on the output.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training.
        return_sequences: return every step's output, not only the last.
        return_state: also return the final state.
        go_backwards: process the sequence backwards and return the reversed sequence.
        stateful: carry the final state of each batch over to the next.
        unroll: accepted for compatibility (no effect).
        seed: seed of the dropout masks.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True, return_state=True)
        >>> sequence, state = layer(np.ones((2, 5, 3), "float32"))
        >>> sequence.shape, state.shape
        ((2, 5, 4), (2, 4))
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        cell = SimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="simple_rnn_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    units = cell_property("units")
    activation = cell_property("activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")

    def get_config(self) -> dict[str, Any]:
        return recurrent_layer_config(self, super().get_config())

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> SimpleRNN:
        return cls(**config)
