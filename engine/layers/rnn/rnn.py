"""`RNN`: runs a recurrent cell over the timesteps of a sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import Tensor, Variable, record, unwrap
from engine.layers.layer import Layer
from engine.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from engine.layers.rnn.stacked_rnn_cells import StackedRNNCells
from engine.ops import numpy as onp
from engine.ops.core import as_array


def _unstack_time(x: Any) -> list[Any]:
    """Split `(batch, timesteps, ...)` into one tensor per timestep.

    Every slice's gradient lands in one shared buffer, so backpropagating
    through `T` slices costs one input-sized array instead of `T` of them. The
    slices hang off a private identity entry (`hub`): the first slice the tape
    reaches hands the buffer to the hub's gradient slot and the others only
    add into it; the hub entry, recorded before every slice, runs last and
    passes the complete buffer on.
    """
    a = as_array(x)
    state: dict[str, np.ndarray | None] = {"acc": None}

    def hub_vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        state["acc"] = None
        return (g,)

    hub = record(a, (x,), hub_vjp)
    slices = []
    for t in range(a.shape[1]):

        def vjp(g: np.ndarray, n: tuple[bool, ...], t: int = t) -> tuple[np.ndarray | None]:
            acc = state["acc"]
            fresh = acc is None
            if acc is None:
                acc = state["acc"] = np.zeros_like(a)
            acc[:, t] += g
            return (acc if fresh else None,)

        slices.append(record(a[:, t], (hub,), vjp))
    return slices


def _normalize_state_size(state_size: Any) -> tuple[list[Any], bool]:
    if isinstance(state_size, (int, np.integer)):
        return [int(state_size)], True
    if isinstance(state_size, (list, tuple)):
        return list(state_size), False
    raise ValueError(
        "A cell's state_size must be an integer or a list of integers (one per state), "
        f"got {state_size!r}."
    )


class RNN(Layer):
    """Base class for recurrent layers: runs `cell` over the timesteps of its input.

    A cell has a `state_size` (an int, or a list of ints with one per state),
    optionally an `output_size`, and a `call(inputs, states, training=False)`
    returning `(output, new_states)` for one timestep. A list of cells is
    stacked with `StackedRNNCells`. Cells of your own run step by step through
    the gradient tape; the built-in `SimpleRNNCell`, `LSTMCell` and `GRUCell`
    run as one fused op over the whole sequence.

    Args:
        cell: an RNN cell, or a list of cells to stack.
        return_sequences: return the output of every timestep, not only the last.
        return_state: also return the final states.
        go_backwards: process the sequence last step first; the returned
            sequence is in processing order (reversed).
        stateful: keep the final states of each batch as the initial states of
            the next (sample `i` continues sample `i`); needs a fixed batch size.
            `reset_state()` sets them back to zeros.
        unroll: accepted for compatibility; the loop is always a Python loop.
        zero_output_for_mask: masked timesteps output zeros instead of the
            previous output (only matters with `return_sequences` and a mask).

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: a list of initial state tensors (zeros when omitted).
        mask: boolean `(batch, timesteps)`, False for the steps to skip; a
            skipped step keeps every state and repeats the previous output.
        training: whether dropout is active.

    Example:
        >>> class MinimalCell(Layer):
        ...     def __init__(self, units, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...         self.state_size = units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units))
        ...         self.recurrent = self.add_weight(shape=(self.units, self.units))
        ...     def call(self, inputs, states):
        ...         h = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent)
        ...         return h, [h]
        >>> RNN(MinimalCell(8))(np.ones((2, 5, 3), "float32")).shape
        (2, 8)
    """

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"An RNN cell needs a `call` method, got {cell!r}.")
        if getattr(cell, "state_size", None) is None:
            raise ValueError(
                f"An RNN cell needs a `state_size` attribute (an int or a list of ints), "
                f"got {cell!r}."
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states: list[Any] | None = None
        self.state_size, self.single_state = _normalize_state_size(cell.state_size)

    # Shapes and masks ---------------------------------------------------------------
    def _output_size(self) -> int:
        size = getattr(self.cell, "output_size", None)
        if size is None:
            first = self.state_size[0]
            size = first[0] if isinstance(first, (list, tuple)) else first
        return int(size)

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        batch, length = sequences_shape[0], sequences_shape[1]
        states: list[Any] = []
        for size in self.state_size:
            if isinstance(size, (list, tuple)):
                states.append([(batch, s) for s in size])
            else:
                states.append((batch, size))
        units = self._output_size()
        output = (batch, length, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [output, *states]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        mask = tree.flatten(mask)[0] if tree.is_nested(mask) else mask
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # Building and states ------------------------------------------------------------
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if len(sequences_shape) < 3:
            raise ValueError(
                f"Layer {self.name!r} takes sequences of shape (batch, timesteps, features), "
                f"got {tuple(sequences_shape)}."
            )
        step_shape = (sequences_shape[0], *tuple(sequences_shape)[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._build_input_shape = step_shape
            self.cell.build(step_shape)
            self.cell.built = True
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    f"Stateful layer {self.name!r} needs a fixed batch size; pass "
                    "batch_size=... to engine.Input (or call it on data)."
                )
            self._create_state_variables(int(sequences_shape[0]))
        self.built = True

    def _create_state_variables(self, batch_size: int) -> None:
        initial = self.get_initial_state(batch_size)
        self.states = tree.map_structure(
            lambda v: Variable(unwrap(v), dtype=self.dtype, trainable=False, name="rnn_state"),
            initial,
        )

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """Zero states (or the cell's own `get_initial_state`) for `batch_size` sequences."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            state = fn(batch_size=batch_size)
            return list(state) if tree.is_nested(state) else [state]
        return [Tensor(np.zeros((batch_size, d), dtype=self.dtype)) for d in self.state_size]

    def reset_state(self) -> None:
        """Set the states of a stateful layer back to zeros."""
        if self.states is not None:
            for v in tree.flatten(self.states):
                v.assign(np.zeros_like(v.value))

    def reset_states(self) -> None:
        """Alias of `reset_state`."""
        self.reset_state()

    # Running ------------------------------------------------------------------------
    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: bool = False,
    ) -> Any:
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                if self.states is None or tree.flatten(self.states)[0].shape[0] != batch:
                    raise ValueError(
                        f"Stateful layer {self.name!r} was built for batches of "
                        f"{tree.flatten(self.states)[0].shape[0] if self.states else None} "
                        f"samples, got {batch}; feed batches of the same size."
                    )
                initial_state = tree.map_structure(lambda v: Tensor(v.value.copy()), self.states)
            else:
                initial_state = self.get_initial_state(batch)
        if not tree.is_nested(initial_state):
            initial_state = [initial_state]
        initial_state = tree.map_structure(self._as_state, list(initial_state))
        if tree.is_nested(mask):
            mask = tree.flatten(mask)[0]
        mask_array = None if mask is None else np.asarray(unwrap(mask), dtype=bool)

        need_states = self.return_state or self.stateful
        fused = getattr(self.cell, "_run_sequence", None)
        result = None
        if fused is not None:
            result = fused(
                sequences,
                initial_state,
                mask_array,
                training,
                go_backwards=self.go_backwards,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask,
                need_states=need_states,
            )
        if result is None:
            # Cells sample their dropout masks at the first step and reuse them.
            result = self._step_loop(sequences, initial_state, mask_array, training)
        output, states = result
        self._reset_dropout(self.cell)

        if self.stateful:
            for var, value in zip(tree.flatten(self.states), tree.flatten(states)):
                var.assign(unwrap(value))
        if self.return_state:
            return [output, *states]
        return output

    def _as_state(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            if value.dtype != np.dtype(self.dtype):
                return onp.cast(value, self.dtype)
            return value
        return Tensor(np.asarray(value, dtype=self.dtype))

    def _call_cell(self, inputs: Any, states: Any, training: bool) -> tuple[Any, Any]:
        if isinstance(self.cell, Layer):
            if self.cell._call_has_training:
                return self.cell(inputs, states, training=training)
            return self.cell(inputs, states)
        return self.cell.call(inputs, states)

    def _step_loop(
        self,
        sequences: Any,
        initial_state: list[Any],
        mask: np.ndarray | None,
        training: bool,
    ) -> tuple[Any, list[Any]]:
        """Run the cell step by step through the tape, with Keras's masking rules."""
        steps = _unstack_time(sequences)
        order = range(len(steps) - 1, -1, -1) if self.go_backwards else range(len(steps))
        if mask is not None and mask.all():
            mask = None
        states: Any = initial_state
        outputs = []
        for t in order:
            output, new_states = self._call_cell(steps[t], states, training)
            if not tree.is_nested(new_states):
                new_states = [new_states]
            if mask is not None:
                keep = mask[:, t : t + 1]
                if self.zero_output_for_mask:
                    output = onp.where(keep, output, 0.0)
                else:
                    previous = states[0]
                    if tree.is_nested(previous):
                        previous = states[-1][0]
                    output = onp.where(keep, output, previous)
                flat_new = tree.flatten(new_states)
                flat_old = tree.flatten(states)
                new_states = tree.pack_sequence_as(
                    new_states,
                    [onp.where(keep, n, o) for n, o in zip(flat_new, flat_old)],
                )
            states = new_states
            outputs.append(output)
        if self.return_sequences:
            return onp.stack(outputs, axis=1), list(states)
        return outputs[-1], list(states)

    def _reset_dropout(self, cell: Any) -> None:
        if isinstance(cell, DropoutRNNCell):
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
        if isinstance(cell, StackedRNNCells):
            for inner in cell.cells:
                self._reset_dropout(inner)

    # Serialization ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from engine.saving.serialization import serialize_keras_object

        config = super().get_config()
        config.update(
            {
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "go_backwards": self.go_backwards,
                "stateful": self.stateful,
                "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "cell": serialize_keras_object(self.cell),
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> RNN:
        from engine.layers import deserialize

        config = dict(config)
        cell = deserialize(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)
