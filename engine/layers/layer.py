"""The `Layer` base class: weights, building, calling eagerly or symbolically.

A layer creates its weights lazily in `build(input_shape)` and computes in
`call(inputs, ...)` with ops from `engine.ops`; the gradient tape makes any
layer composed of ops trainable. Calling a layer on `KerasTensor`s (from
`engine.Input`) records a node of a functional graph instead of computing.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.config import floatx, standardize_dtype
from engine.backend.keras_tensor import KerasTensor
from engine.backend.naming import to_snake_case, unique_name
from engine.backend.tensor import Tensor, Variable, stop_recording, unwrap

_call_context = threading.local()

_LAYER_KWARGS = frozenset(
    {"input_shape", "input_dim", "batch_size", "batch_input_shape", "weights", "input_length"}
)


def _context_training() -> bool | None:
    return getattr(_call_context, "training", None)


class Node:
    """One call of a layer on symbolic tensors: its arguments and outputs."""

    def __init__(
        self,
        layer: Layer,
        call_args: tuple[Any, ...],
        call_kwargs: dict[str, Any],
        outputs: Any,
    ) -> None:
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [
            t for t in tree.flatten((call_args, call_kwargs)) if isinstance(t, KerasTensor)
        ]
        self.output_tensors = tree.flatten(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (layer, self.index, i)

    @property
    def parent_nodes(self) -> list[Node]:
        """The nodes whose outputs this node consumes."""
        nodes = []
        for t in self.input_tensors:
            layer, node_index, _ = t._keras_history
            nodes.append(layer._inbound_nodes[node_index])
        return nodes


class Layer:
    """Base class of all layers.

    Subclasses create weights in `build(input_shape)` with `add_weight` and
    compute in `call(inputs, training=None, mask=None)` using `engine.ops`.

    Args:
        trainable: whether `fit` updates the layer's weights.
        name: a unique name; a snake-case one is derived from the class otherwise.
        dtype: the dtype of the weights and computation (`floatx()` by default).
        activity_regularizer: a penalty on the layer's output added to the loss.
        input_shape: (first layer of a `Sequential` only) the shape of one sample.

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.s
    """

    # Whether the layer's ops split NumPy work into chunks over the engine's threads
    # (convolutions, pooling, normalization, attention). A model with such a layer
    # trains in `parallel_scope` (BLAS at one thread, the engine's threads doing the
    # rest); a model of GEMMs alone (Dense, Embedding, recurrent layers) keeps
    # BLAS's own threads, which win there (measured, see engine.ops.batch_parallel).
    _engine_threads: bool = False

    def __init__(
        self,
        *,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        activity_regularizer: Any = None,
        autocast: bool = True,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - _LAYER_KWARGS
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) "
                f"{', '.join(sorted(unknown))}; check the spelling against the layer's signature."
            )
        object.__setattr__(self, "_tracked_layers", [])
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = floatx() if dtype is None else str(standardize_dtype(dtype))
        self.built = False
        self.supports_masking = getattr(self, "supports_masking", False)
        self._own_trainable: list[Variable] = []
        self._own_non_trainable: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._call_losses: list[Tensor] = []
        self._extra_losses: list[Any] = []
        from engine import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._batch_input_shape: tuple[int | None, ...] | None = None
        self._build_input_shape: Any = None
        if "batch_input_shape" in kwargs and kwargs["batch_input_shape"] is not None:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif kwargs.get("input_shape") is not None:
            self._batch_input_shape = (kwargs.get("batch_size"), *tuple(kwargs["input_shape"]))
        elif kwargs.get("input_dim") is not None:
            self._batch_input_shape = (kwargs.get("batch_size"), int(kwargs["input_dim"]))
        self._initial_weights = kwargs.get("weights")
        sig = inspect.signature(self.call).parameters
        self._call_has_training = "training" in sig
        self._call_has_mask = "mask" in sig

    # Attribute tracking ----------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked_layers")
        if tracked is not None and not name.startswith("__"):
            old = self.__dict__.get(name)
            for item in _layers_in(old):
                if item in tracked:
                    tracked.remove(item)
            for item in _layers_in(value):
                if item is not self and item not in tracked:
                    tracked.append(item)
        object.__setattr__(self, name, value)

    # Weights ----------------------------------------------------------------------
    def add_weight(
        self,
        shape: Sequence[int] | None = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Variable:
        """Create a weight variable owned by this layer.

        Args:
            shape: the weight's shape (a scalar when None).
            initializer: name, `Initializer` or array; `glorot_uniform` for floats,
                zeros otherwise, when None.
            dtype: the weight's dtype (the layer's by default).
            trainable: whether `fit` updates it.
            regularizer: a penalty added to the loss.
            constraint: a projection applied after each optimizer update.
            name: the weight's name, e.g. `"kernel"`.
        """
        from engine import constraints, initializers, regularizers

        dt = np.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dt.kind == "f" else "zeros"
        init = (
            initializers.get(initializer)
            if not isinstance(initializer, np.ndarray)
            else initializer
        )
        var = Variable(
            init,
            shape=tuple(shape or ()),
            dtype=dt,
            trainable=trainable,
            name=name or "variable",
            constraint=constraints.get(constraint),
            regularizer=regularizers.get(regularizer),
        )
        var.path = f"{self.name}/{var.name}"
        (self._own_trainable if trainable else self._own_non_trainable).append(var)
        return var

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._tracked_layers:
            layer.trainable = value

    @property
    def _layers(self) -> list[Layer]:
        return list(self._tracked_layers)

    def _sublayer_weights(self, attr: str) -> list[Variable]:
        out: list[Variable] = []
        for layer in self._layers:
            out.extend(getattr(layer, attr))
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        """The weights that `fit` updates (none when the layer is frozen)."""
        if not self.trainable:
            return []
        return _dedupe([*self._own_trainable, *self._sublayer_weights("trainable_weights")])

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """The weights that `fit` does not update (all of them when frozen)."""
        if not self.trainable:
            return self.weights
        return _dedupe([*self._own_non_trainable, *self._sublayer_weights("non_trainable_weights")])

    @property
    def weights(self) -> list[Variable]:
        """All weights: this layer's own (trainable first), then its sublayers'."""
        return _dedupe(
            [*self._own_trainable, *self._own_non_trainable, *self._sublayer_weights("weights")]
        )

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weight values, in `weights` order."""
        return [w.value.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the weight values from a list of arrays in `weights` order."""
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"Layer {self.name!r} expects {len(params)} weight arrays, got {len(weights)}; "
                "pass arrays in the order of layer.weights."
            )
        for var, value in zip(params, weights):
            value = np.asarray(unwrap(value))
            if value.shape != var.shape:
                raise ValueError(
                    f"Layer {self.name!r} weight {var.name!r} has shape {var.shape}, "
                    f"got an array of shape {value.shape}."
                )
            var.assign(value)

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} is not built yet, so it has no weights to count; "
                "call it on data or build it with an input shape first."
            )
        return int(sum(w.size for w in self.weights))

    # Losses ------------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Add a loss term (a scalar tensor computed in `call`) to the training loss."""
        self._call_losses.append(loss)

    @property
    def losses(self) -> list[Any]:
        """Losses added during the last call plus weight regularization penalties."""
        out: list[Any] = list(self._call_losses)
        for w in self._own_trainable + self._own_non_trainable:
            if w.regularizer is not None and w.trainable and self.trainable:
                out.append(w.regularizer(w))
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    def _clear_losses(self) -> None:
        self._call_losses = []
        for layer in self._layers:
            layer._clear_losses()

    # Building and calling ----------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Create the weights for inputs of `input_shape`; the base creates none."""
        self.built = True

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        self._build_input_shape = input_shape
        self.build(input_shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        return inputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: the input mask when the layer supports masking."""
        return mask if self.supports_masking else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(t, KerasTensor) for t in tree.flatten((args, kwargs))):
            return self._symbolic_call(*args, **kwargs)
        return self._eager_call(*args, **kwargs)

    def _eager_call(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer {self.name!r} was called without inputs.")
            args = (kwargs.pop("inputs"),)
        inputs = tree.map_structure(_to_tensor, args[0])
        args = (inputs, *args[1:])
        self._maybe_build(
            tree.map_structure(lambda t: t.shape, inputs)
            if tree.is_nested(inputs)
            else inputs.shape
        )

        training = kwargs.pop("training", None)
        if training is None:
            training = _context_training()
        if self._call_has_training:
            kwargs["training"] = bool(training)
        mask = kwargs.get("mask")
        if mask is None:
            flat_masks = [getattr(t, "_keras_mask", None) for t in tree.flatten(inputs)]
            if any(m is not None for m in flat_masks):
                mask = (
                    flat_masks[0]
                    if not tree.is_nested(inputs)
                    else tree.pack_sequence_as(inputs, flat_masks)
                )
        if self._call_has_mask:
            kwargs["mask"] = mask
        elif "mask" in kwargs:
            kwargs.pop("mask")

        previous = _context_training()
        _call_context.training = bool(training)
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            _call_context.training = previous

        outputs = tree.map_structure(_to_tensor, outputs)
        if self.activity_regularizer is not None:
            for out in tree.flatten(outputs):
                self.add_loss(self.activity_regularizer(out))
        out_mask = self.compute_mask(inputs, mask)
        if out_mask is not None:
            for out, m in zip(
                tree.flatten(outputs),
                tree.flatten(out_mask) if tree.is_nested(outputs) else [out_mask],
            ):
                out._keras_mask = None if m is None else np.asarray(unwrap(m))
        return outputs

    def _symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            args = (kwargs.pop("inputs"),)
        inputs = args[0]
        shapes = tree.map_structure(lambda t: t.shape, inputs)
        self._maybe_build(shapes)
        outputs = self.compute_output_spec(*args, **kwargs)
        call_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        Node(self, args, call_kwargs, outputs)
        return outputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Symbolic outputs (shape and dtype) for symbolic inputs."""
        inputs = args[0]
        shapes = tree.map_structure(lambda t: t.shape, inputs)
        if type(self).compute_output_shape is Layer.compute_output_shape:
            return self._infer_output_spec(*args, **kwargs)
        out_shapes = self.compute_output_shape(shapes)
        return _shapes_to_keras_tensors(out_shapes, self.dtype, self.name)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for an input shape (`None` for unknown dims).

        The base implementation runs the layer on zeros twice, with unknown dims
        set to two different sizes, and marks the dims that changed as unknown.
        """
        if _is_shape(input_shape):
            specs: Any = KerasTensor(tuple(input_shape), self.dtype)
        else:
            specs = [KerasTensor(tuple(s), self.dtype) for s in input_shape]
        out = self._infer_output_spec(specs)
        return tree.map_structure(lambda t: t.shape, out)

    def _infer_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        runs = []
        for fill in (2, 3):

            def concrete(x: Any, fill: int = fill) -> Any:
                if isinstance(x, KerasTensor):
                    return Tensor(
                        np.zeros([fill if d is None else d for d in x.shape], dtype=x.dtype)
                    )
                return x

            cargs = tree.map_structure(concrete, args)
            ckwargs = tree.map_structure(
                concrete, {k: v for k, v in kwargs.items() if k != "training"}
            )
            with stop_recording():
                runs.append(self._eager_call(*cargs, training=False, **ckwargs))
        flat_a, flat_b = tree.flatten(runs[0]), tree.flatten(runs[1])
        specs = [
            KerasTensor(
                tuple(da if da == db else None for da, db in zip(a.shape, b.shape)),
                a.dtype,
                self.name,
            )
            for a, b in zip(flat_a, flat_b)
        ]
        return tree.pack_sequence_as(runs[0], specs)

    # Graph introspection ----------------------------------------------------------------
    def _node_tensor(self, attr: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has never been called on a symbolic input, so it has no "
                f"{attr}; build it inside a model with a known input shape."
            )
        node = self._inbound_nodes[0]
        if attr == "input":
            tensors = node.input_tensors
        else:
            tensors = node.output_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def input(self) -> Any:
        return self._node_tensor("input")

    @property
    def output(self) -> Any:
        return self._node_tensor("output")

    @property
    def input_shape(self) -> Any:
        return tree.map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        return tree.map_structure(lambda t: t.shape, self.output)

    # Serialization --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict."""
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype,
        }
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            from engine import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Create a layer from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _layers_in(value: Any) -> list[Layer]:
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
        return list(value)
    if isinstance(value, dict) and value and all(isinstance(v, Layer) for v in value.values()):
        return list(value.values())
    return []


def _dedupe(variables: list[Variable]) -> list[Variable]:
    seen: set[int] = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _to_tensor(x: Any) -> Any:
    if isinstance(x, Tensor) or x is None:
        return x
    if isinstance(x, (np.ndarray, list, float, int, np.generic)):
        arr = np.asarray(x)
        if arr.dtype == np.float64 and floatx() != "float64":
            arr = arr.astype(floatx())
        return Tensor(arr)
    return x


def _is_shape(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in x
    )


def _shapes_to_keras_tensors(shapes: Any, dtype: str, name: str) -> Any:
    if _is_shape(shapes):
        return KerasTensor(tuple(shapes), dtype, name)
    return [_shapes_to_keras_tensors(s, dtype, name) for s in shapes]
