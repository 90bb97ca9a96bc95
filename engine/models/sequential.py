"""`Sequential`: a plain stack of layers, one input and one output."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.keras_tensor import KerasTensor
from engine.layers.core.input_layer import InputLayer
from engine.layers.layer import Layer
from engine.models.fusion import can_fuse, fused_call
from engine.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Give the first layer an `input_shape=` (or start with an `Input`/`InputLayer`)
    to build it at once; otherwise it builds on the first data it sees.

    Args:
        layers: the layers, in order.
        name: the model's name.

    Example:
        >>> model = Sequential([
        ...     engine.layers.Dense(64, activation="relu", input_shape=(784,)),
        ...     engine.layers.Dense(10, activation="softmax"),
        ... ])
    """

    def __init__(
        self, layers: list[Layer] | None = None, trainable: bool = True, name: str | None = None
    ) -> None:
        super().__init__(trainable=trainable, name=name)
        self._seq_layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._inputs_flat: list[KerasTensor] = []
        self._outputs_flat: list[KerasTensor] = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_graph()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (an `Input` tensor sets the input shape instead)."""
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._seq_layers:
                raise ValueError("An Input can only be the first entry of a Sequential model.")
            self._input_layer = layer
        elif not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add takes a layer, got {type(layer).__name__}; "
                "wrap functions in engine.layers.Lambda."
            )
        else:
            if any(existing.name == layer.name for existing in self._seq_layers):
                raise ValueError(
                    f"Sequential model {self.name!r} already has a layer named {layer.name!r}; "
                    "layer names must be unique."
                )
            self._seq_layers.append(layer)
            self._tracked_layers.append(layer)
        self.built = False
        self._inputs_flat, self._outputs_flat = [], []
        if rebuild:
            self._maybe_build_graph()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._seq_layers:
            raise ValueError("There are no layers to pop from this Sequential model.")
        layer = self._seq_layers.pop()
        self._tracked_layers.remove(layer)
        self.built = False
        self._inputs_flat, self._outputs_flat = [], []
        if rebuild:
            self._maybe_build_graph()
        return layer

    def _maybe_build_graph(self) -> None:
        shape = None
        dtype = None
        if self._input_layer is not None:
            shape, dtype = self._input_layer.batch_shape, self._input_layer.dtype
        elif self._seq_layers and self._seq_layers[0]._batch_input_shape is not None:
            shape = self._seq_layers[0]._batch_input_shape
        if shape is not None and self._seq_layers:
            self._build_graph(shape, dtype)

    def _build_graph(self, batch_shape: tuple[int | None, ...], dtype: Any = None) -> None:
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=batch_shape, dtype=dtype)
        x = self._input_layer._input_tensor
        inputs = x
        for layer in self._seq_layers:
            x = layer(x)
        self._inputs_flat = [inputs]
        self._outputs_flat = tree.flatten(x)
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for inputs of `input_shape` (batch axis included)."""
        if input_shape is None:
            raise ValueError("Sequential.build needs an input_shape, e.g. (None, 784).")
        self._build_graph(tuple(input_shape))

    def _maybe_build(self, input_shape: Any) -> None:
        if not self.built:
            if not self._seq_layers:
                raise ValueError("This Sequential model has no layers; add some before calling it.")
            self._build_graph((None, *tuple(input_shape)[1:]))

    def _eager_call(self, *args: Any, **kwargs: Any) -> Any:
        if not self.built and args:
            x = args[0]
            dtype = getattr(x, "dtype", None)
            shape = np.shape(x.value if hasattr(x, "value") else x)
            dt = dtype if dtype is not None and np.dtype(dtype).kind in "iu" else None
            self._build_graph((None, *shape[1:]), dt)
        elif args and self._inputs_flat:
            self._check_input_shape(self._inputs_flat[0], args[0])
        return super()._eager_call(*args, **kwargs)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        x = inputs
        stack = self._seq_layers
        i = 0
        while i < len(stack):
            if i + 1 < len(stack) and can_fuse(stack[i], stack[i + 1], x):
                # Conv2D(relu) -> MaxPooling2D(2) as one op: same results, less memory traffic.
                x = fused_call(stack[i], stack[i + 1], x)
                i += 2
                continue
            x = stack[i](x, training=training)
            i += 1
        return x

    # Graph access ---------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._seq_layers)

    @property
    def input_shape(self) -> Any:
        self._require_built("input_shape")
        return self._inputs_flat[0].shape

    @property
    def output_shape(self) -> Any:
        self._require_built("output_shape")
        return self._outputs_flat[0].shape

    @property
    def input(self) -> Any:
        self._require_built("input")
        return self._inputs_flat[0]

    @property
    def output(self) -> Any:
        self._require_built("output")
        return self._outputs_flat[0]

    def _require_built(self, attr: str) -> None:
        if not self._inputs_flat:
            raise AttributeError(
                f"Sequential model {self.name!r} has no {attr} yet: give the first layer an "
                "input_shape, start with engine.Input(...), or call the model on data."
            )

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        for layer in self._seq_layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        x = args[0]
        return KerasTensor(
            self.compute_output_shape(x.shape),
            self._outputs_flat[-1].dtype if self._outputs_flat else self.dtype,
            self.name,
        )

    # Serialization -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from engine.saving.serialization import serialize_keras_object

        layers = []
        if self._input_layer is not None:
            layers.append(serialize_keras_object(self._input_layer))
        layers.extend(serialize_keras_object(layer) for layer in self._seq_layers)
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Sequential:
        from engine.layers import deserialize as deserialize_layer

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            model.add(deserialize_layer(entry, custom_objects=custom_objects), rebuild=False)
        model._maybe_build_graph()
        return model
