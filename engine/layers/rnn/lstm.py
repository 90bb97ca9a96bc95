"""`LSTMCell` and `LSTM`: long short-term memory, Keras gate order `i, f, c, o`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import initializers
from engine.layers.rnn.recurrent_cell import RecurrentCell, cell_property, recurrent_layer_config
from engine.layers.rnn.rnn import RNN
from engine.ops import numpy as onp
from engine.ops import rnn as rnn_ops


def _check_implementation(implementation: Any) -> int:
    if implementation not in (1, 2):
        raise ValueError(f"implementation must be 1 or 2, got {implementation!r}.")
    return int(implementation)


def _check_use_cudnn(use_cudnn: Any) -> None:
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"use_cudnn must be 'auto', True or False, got {use_cudnn!r}.")
    if use_cudnn is True:
        raise ValueError(
            "use_cudnn=True asks for cuDNN, which this NumPy engine does not have; "
            "pass use_cudnn='auto' (the fused CPU op is used either way)."
        )


class LSTMCell(RecurrentCell):
    """One step of a long short-term memory layer (Hochreiter 1997).

    With `z = x W + h R + b` split into four blocks in the order `i, f, c, o`:
    `c' = f * c + i * activation(z_c)` and `h' = o * activation(c')`, where
    `i, f, o = recurrent_activation(z_i, z_f, z_o)`. The states are `[h, c]`.

    Args:
        units: the dimensionality of the output and of each state.
        activation: for the candidate and the cell state (`tanh`).
        recurrent_activation: for the gates (`sigmoid`).
        use_bias: whether to add a bias vector.
        kernel_initializer: initializer of `kernel`, `(features, 4 * units)`.
        recurrent_initializer: initializer of `recurrent_kernel`, `(units, 4 * units)`.
        bias_initializer: initializer of `bias`, `(4 * units,)`.
        unit_forget_bias: initialize the forget gate's bias to 1 (the rest with
            `bias_initializer`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training
            (then each gate gets its own masks, Keras's `implementation=1`).
        seed: seed of the dropout masks.

    Example:
        >>> rnn = RNN(LSTMCell(4), return_state=True)
        >>> [t.shape for t in rnn(np.ones((2, 5, 3), "float32"))]
        [(2, 4), (2, 4), (2, 4)]
    """

    gates = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        implementation = _check_implementation(kwargs.pop("implementation", 2))
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
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
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout != 0 else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4
        self.state_size = [self.units, self.units]

    def _bias_initial_value(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        dtype = np.dtype(self.dtype)
        u = self.units
        return np.concatenate(
            [
                np.asarray(self.bias_initializer((u,), dtype=dtype)),
                np.asarray(initializers.get("ones")((u,), dtype=dtype)),
                np.asarray(self.bias_initializer((2 * u,), dtype=dtype)),
            ]
        ).astype(dtype)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, list[Any]]:
        h_tm1, c_tm1 = states[0], states[1]
        dp_mask, rec_mask = self._step_dropout(inputs, h_tm1, training)
        u = self.units
        if self.implementation == 1:
            blocks = []
            for g in range(4):
                cols = slice(g * u, (g + 1) * u)
                x_g = inputs if dp_mask is None else onp.multiply(inputs, dp_mask[g])
                h_g = h_tm1 if rec_mask is None else onp.multiply(h_tm1, rec_mask[g])
                z_g = onp.add(
                    onp.matmul(x_g, self.kernel[:, cols]),
                    onp.matmul(h_g, self.recurrent_kernel[:, cols]),
                )
                if self.bias is not None:
                    z_g = onp.add(z_g, self.bias[cols])
                blocks.append(z_g)
        else:
            x = inputs if dp_mask is None else onp.multiply(inputs, dp_mask)
            z = onp.add(onp.matmul(x, self.kernel), onp.matmul(h_tm1, self.recurrent_kernel))
            if self.bias is not None:
                z = onp.add(z, self.bias)
            blocks = onp.split(z, 4, axis=1)
        i = self.recurrent_activation(blocks[0])
        f = self.recurrent_activation(blocks[1])
        c = onp.add(onp.multiply(f, c_tm1), onp.multiply(i, self.activation(blocks[2])))
        o = self.recurrent_activation(blocks[3])
        h = onp.multiply(o, self.activation(c))
        return h, [h, c]

    def _fused(self, sequences: Any, initial_state: list[Any], **options: Any) -> Any:
        return rnn_ops.lstm(
            sequences,
            initial_state[:2],
            self.kernel,
            self.recurrent_kernel,
            self.bias,
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            **options,
        )

    def _cell_config(self) -> dict[str, Any]:
        config = super()._cell_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class LSTM(RNN):
    """Long short-term memory layer (Hochreiter 1997) over a whole sequence.

    Runs as one fused op with a hand-written backward through time for
    built-in elementwise activations (the default `tanh` / `sigmoid` pair has
    the fastest path). Weights as in Keras: `kernel` `(features, 4 * units)`,
    `recurrent_kernel` `(units, 4 * units)`, `bias` `(4 * units,)`, gates in
    the order `i, f, c, o`.

    Args:
        units: the dimensionality of the output.
        activation: for the candidate and the cell state (`tanh`).
        recurrent_activation: for the gates (`sigmoid`).
        use_bias: whether to add a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        unit_forget_bias: initialize the forget gate's bias to 1.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        activity_regularizer: penalty on the output.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training.
        seed: seed of the dropout masks.
        return_sequences: return every step's output, not only the last.
        return_state: also return the final `h` and `c`.
        go_backwards: process the sequence backwards and return the reversed sequence.
        stateful: carry the final states of each batch over to the next.
        unroll: accepted for compatibility (no effect).
        use_cudnn: `"auto"` or False (there is no cuDNN here; True is an error).

    Example:
        >>> layer = LSTM(4, return_sequences=True, return_state=True)
        >>> sequence, h, c = layer(np.ones((2, 5, 3), "float32"))
        >>> sequence.shape, h.shape, c.shape
        ((2, 5, 4), (2, 4), (2, 4))
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        _check_use_cudnn(use_cudnn)
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            unit_forget_bias=unit_forget_bias,
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
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="lstm_cell",
            seed=seed,
            implementation=kwargs.pop("implementation", 2),
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
        self.use_cudnn = use_cudnn

    units = cell_property("units")
    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    use_bias = cell_property("use_bias")
    unit_forget_bias = cell_property("unit_forget_bias")
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
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> LSTM:
        return cls(**config)
