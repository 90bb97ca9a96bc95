"""`Model`: a layer that trains. `Model(inputs, outputs)` builds a functional model."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.layer import Layer
from engine.trainers.trainer import Trainer


def _is_functional_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return (
        ("inputs" in kwargs and "outputs" in kwargs)
        or (len(args) >= 2)
        or (len(args) == 1 and "outputs" in kwargs)
    )


class Model(Trainer, Layer):
    """A model: layers plus `compile`/`fit`/`evaluate`/`predict`, saving and summary.

    Built either functionally, `Model(inputs, outputs)`, or by subclassing
    (define layers in `__init__`, the computation in `call`).

    Example:
        >>> inputs = engine.Input(shape=(784,))
        >>> x = engine.layers.Dense(64, activation="relu")(inputs)
        >>> outputs = engine.layers.Dense(10, activation="softmax")(x)
        >>> model = engine.Model(inputs, outputs)
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and _is_functional_call(args, kwargs):
            from engine.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        self._init_trainer()

    # Layers ---------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The model's layers (for subclassed models: those assigned as attributes)."""
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Find a layer by name or by index in `layers`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"get_layer(index={index}): the model has {len(self.layers)} layers."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = ", ".join(layer.name for layer in self.layers)
        raise ValueError(
            f"No layer named {name!r} in model {self.name!r}; its layers are: {names}."
        )

    @property
    def inputs(self) -> list[Any]:
        """The symbolic input tensors (empty for an unbuilt or subclassed model)."""
        return list(getattr(self, "_inputs_flat", []))

    @property
    def outputs(self) -> list[Any]:
        """The symbolic output tensors (empty for an unbuilt or subclassed model)."""
        return list(getattr(self, "_outputs_flat", []))

    def _check_input_shape(self, expected: Any, value: Any) -> None:
        """Refuse data whose shape does not fit the symbolic input `expected`."""
        got = np.shape(value.value if hasattr(value, "value") else value)
        want = expected.shape
        fits = len(got) == len(want) and all(e is None or e == g for e, g in zip(want[1:], got[1:]))
        if not fits:
            raise ValueError(
                f"Input {expected.name!r} of model {self.name!r} expects inputs of shape {want}, "
                f"got data of shape {got}."
            )

    @property
    def output_names(self) -> list[str]:
        """One name per output (the name of the layer producing it)."""
        outputs = getattr(self, "_outputs_flat", None)
        if outputs:
            return [t._keras_history[0].name for t in outputs]
        return ["output"]

    # Summary and saving ---------------------------------------------------------------------
    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Print a table of layers, output shapes and parameter counts (like Keras)."""
        from engine.models.summary import print_summary

        print_summary(
            self, line_length=line_length, print_fn=print_fn, show_trainable=show_trainable
        )

    def save(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        """Save architecture, weights, compile config and optimizer state to a `.keras` zip."""
        from engine.saving.saving_api import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        """Save the weights alone to a `.weights.npz` file."""
        from engine.saving.saving_api import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False) -> None:
        """Load weights saved by `save_weights` (or from a `.keras` file)."""
        from engine.saving.saving_api import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as a JSON string (`engine.models.model_from_json` reads it)."""
        import json

        from engine.saving.serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "trainable": self.trainable}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Model:
        if cls is Model and "input_layers" in config and "layers" in config:
            from engine.models.functional import Functional

            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def _maybe_build(self, input_shape: Any) -> None:
        # A subclassed model's sublayers build themselves on first call; only a
        # user-defined build() needs running here.
        if type(self).build is Model.build:
            self.built = True
            return
        super()._maybe_build(input_shape)

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model by calling it once on zeros of `input_shape`."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError("build() needs an input_shape for a subclassed model.")
        shapes = input_shape
        dummy: Any
        if isinstance(shapes, list) and shapes and isinstance(shapes[0], (list, tuple)):
            dummy = [np.zeros([1 if d is None else d for d in s], dtype=self.dtype) for s in shapes]
        else:
            dummy = np.zeros([1 if d is None else d for d in shapes], dtype=self.dtype)
        self.built = True
        from engine.backend.tensor import stop_recording

        with stop_recording():
            self(dummy, training=False)
