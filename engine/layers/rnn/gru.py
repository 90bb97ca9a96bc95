"""`GRUCell` and `GRU`: gated recurrent units, Keras gate order `z, r, h`."""

from __future__ import annotations

from typing import Any

from engine.backend import tree
from engine.layers.rnn.lstm import _check_implementation, _check_use_cudnn
from engine.layers.rnn.recurrent_cell import RecurrentCell, cell_property, recurrent_layer_config
from engine.layers.rnn.rnn import RNN
from engine.ops import numpy as onp
from engine.ops import rnn as rnn_ops


class GRUCell(RecurrentCell):
    """One step of a gated recurrent unit (Cho et al. 2014).

    With the blocks `z, r, h` of the kernels: `z, r = recurrent_activation(...)`,
    the candidate `hh = activation(x W_h + r * (h R_h + b_rh))` when
    `reset_after` (else `activation(x W_h + (r * h) R_h + b_h)`), and the new
    state `z * h + (1 - z) * hh`.

    Args:
        units: the dimensionality of the output and of the state.
        activation: the candidate's activation (`tanh`).
        recurrent_activation: the gates' activation (`sigmoid`).
        use_bias: whether to add biases.
        kernel_initializer: initializer of `kernel`, `(features, 3 * units)`.
        recurrent_initializer: initializer of `recurrent_kernel`, `(units, 3 * units)`.
        bias_initializer: initializer of `bias`: `(2, 3 * units)` (input and
            recurrent biases) with `reset_after`, `(3 * units,)` without.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training
            (then each gate gets its own masks, Keras's `implementation=1`).
        reset_after: apply the reset gate after the recurrent matmul (the
            default, cuDNN- and PyTorch-compatible) or before it.
        seed: seed of the dropout masks.

    Example:
        >>> RNN(GRUCell(4))(np.ones((2, 5, 3), "float32")).shape
        (2, 4)
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        reset_after: bool = True,
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
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout != 0 else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        h_tm1 = states[0] if tree.is_nested(states) else states
        dp_mask, rec_mask = self._step_dropout(inputs, h_tm1, training)
        u = self.units
        input_bias = recurrent_bias = None
        if self.bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = self.bias[0], self.bias[1]
            else:
                input_bias = self.bias

        def masked(x: Any, masks: Any, g: int) -> Any:
            if masks is None:
                return x
            return onp.multiply(x, masks[g] if self.implementation == 1 else masks)

        blocks_x = []
        blocks_h = []
        for g in range(3):
            cols = slice(g * u, (g + 1) * u)
            x_g = onp.matmul(masked(inputs, dp_mask, g), self.kernel[:, cols])
            if input_bias is not None:
                x_g = onp.add(x_g, input_bias[cols])
            blocks_x.append(x_g)
            h_g = masked(h_tm1, rec_mask, g)
            if g < 2 or self.reset_after:
                rec = onp.matmul(h_g, self.recurrent_kernel[:, cols])
                if recurrent_bias is not None:
                    rec = onp.add(rec, recurrent_bias[cols])
                blocks_h.append(rec)
            else:
                blocks_h.append(h_g)
        z = self.recurrent_activation(onp.add(blocks_x[0], blocks_h[0]))
        r = self.recurrent_activation(onp.add(blocks_x[1], blocks_h[1]))
        if self.reset_after:
            recurrent_h = onp.multiply(r, blocks_h[2])
        else:
            recurrent_h = onp.matmul(
                onp.multiply(r, blocks_h[2]), self.recurrent_kernel[:, 2 * u :]
            )
        hh = self.activation(onp.add(blocks_x[2], recurrent_h))
        h = onp.add(onp.multiply(z, h_tm1), onp.multiply(onp.subtract(1.0, z), hh))
        return h, [h] if tree.is_nested(states) else h

    def _fused(self, sequences: Any, initial_state: list[Any], **options: Any) -> Any:
        return rnn_ops.gru(
            sequences,
            initial_state[0],
            self.kernel,
            self.recurrent_kernel,
            self.bias,
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            reset_after=self.reset_after,
            **options,
        )

    def _cell_config(self) -> dict[str, Any]:
        config = super()._cell_config()
        config["reset_after"] = self.reset_after
        return config


class GRU(RNN):
    """Gated recurrent unit layer (Cho et al. 2014) over a whole sequence.

    Runs as one fused op with a hand-written backward through time for
    built-in elementwise activations. Weights as in Keras: `kernel`
    `(features, 3 * units)`, `recurrent_kernel` `(units, 3 * units)`, gates in
    the order `z, r, h`, and `bias` `(2, 3 * units)` (input, recurrent) with
    `reset_after=True` (the default, matching `torch.nn.GRU`) or
    `(3 * units,)` with `reset_after=False`.

    Args:
        units: the dimensionality of the output.
        activation: the candidate's activation (`tanh`).
        recurrent_activation: the gates' activation (`sigmoid`).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        activity_regularizer: penalty on the output.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the state units to drop in training.
        seed: seed of the dropout masks.
        return_sequences: return every step's output, not only the last.
        return_state: also return the final state.
        go_backwards: process the sequence backwards and return the reversed sequence.
        stateful: carry the final state of each batch over to the next.
        unroll: accepted for compatibility (no effect).
        reset_after: apply the reset gate after the recurrent matmul.
        use_cudnn: `"auto"` or False (there is no cuDNN here; True is an error).

    Example:
        >>> GRU(4, return_sequences=True)(np.ones((2, 5, 3), "float32")).shape
        (2, 5, 4)
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
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        _check_use_cudnn(use_cudnn)
        cell = GRUCell(
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
            reset_after=reset_after,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
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
    reset_after = cell_property("reset_after")

    def get_config(self) -> dict[str, Any]:
        return recurrent_layer_config(self, super().get_config())

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GRU:
        return cls(**config)
