"""`StackedRNNCells`: several RNN cells run as one, each feeding the next."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import Tensor
from engine.layers.layer import Layer


class StackedRNNCells(Layer):
    """Wraps a list of RNN cells so that they behave as a single cell.

    At each timestep the first cell reads the input, every other cell reads
    the output of the cell below it, and the last cell's output is the stack's
    output. The state is the list of every cell's states.

    Args:
        cells: a list of RNN cells (`LSTMCell`, `GRUCell`, your own...).

    Example:
        >>> cells = [LSTMCell(8), LSTMCell(4)]
        >>> RNN(StackedRNNCells(cells))(np.ones((2, 5, 3), "float32")).shape
        (2, 4)
    """

    def __init__(self, cells: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell.")
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"Every cell needs a `call` method, got {cell!r}.")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"Every cell needs a `state_size` attribute, got {cell!r}.")
        self.cells = cells

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        """Every cell's initial states, in cell order."""
        states: list[Any] = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                states.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                states.append(
                    [Tensor(np.zeros((batch_size, d), self.dtype)) for d in cell.state_size]
                )
            else:
                states.append(Tensor(np.zeros((batch_size, cell.state_size), self.dtype)))
        return states

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._build_input_shape = shape
                cell.build(shape)
                cell.built = True
            shape = (shape[0], _output_size(cell))
        self.built = True

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, list[Any]]:
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = tree.is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            if isinstance(cell, Layer):
                kwargs = {"training": training} if cell._call_has_training else {}
                inputs, cell_states = cell(inputs, cell_states, **kwargs)
            else:
                inputs, cell_states = cell.call(inputs, cell_states)
            if not tree.is_nested(cell_states):
                cell_states = [cell_states]
            new_states.append(cell_states if was_list or len(cell_states) != 1 else cell_states[0])
        return inputs, new_states

    def get_config(self) -> dict[str, Any]:
        from engine.saving.serialization import serialize_keras_object

        config = super().get_config()
        config["cells"] = [serialize_keras_object(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> StackedRNNCells:
        from engine.layers import deserialize

        config = dict(config)
        cells = [deserialize(c, custom_objects=custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    state_size = cell.state_size
    return int(state_size[0] if isinstance(state_size, (list, tuple)) else state_size)
