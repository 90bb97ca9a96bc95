"""`MultiHeadAttention`: scaled dot-product attention in several heads (Vaswani et al., 2017)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.backend.keras_tensor import KerasTensor
from engine.backend.random import SeedGenerator
from engine.backend.tensor import Tensor, unwrap
from engine.layers.attention.head_projection import HeadProjection
from engine.layers.layer import Layer, _to_tensor
from engine.ops import numpy as onp
from engine.ops.attention import (
    causal_mask,
    dropout_scale,
    masked_softmax,
    multi_head_self_attention,
    scaled_dot_product_attention,
)


def _shape(x: Any) -> tuple[int | None, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _same_input(a: Any, b: Any) -> bool:
    """Whether two call arguments are one input, so gradients may flow to it once."""
    if a is b:
        return True
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return False
    # An array passed twice, which the layer call wrapped once: neither side is tracked.
    tracked = getattr(a, "_tracked", False) or getattr(b, "_tracked", False)
    return not tracked and unwrap(a) is unwrap(b)


def _as_bool(mask: Any) -> np.ndarray:
    m = np.asarray(unwrap(mask))
    return m if m.dtype == np.bool_ else m != 0


class MultiHeadAttention(Layer):
    """Multi-head attention: project, attend per head, concatenate, project back.

    `query`, `key` and `value` are projected to `num_heads` heads of size
    `key_dim` (`value_dim` for the values); each head computes
    `softmax(q @ k^T / sqrt(key_dim)) @ v`; the heads are projected back to the
    query's last dimension (or `output_shape`). The weights match Keras's
    exactly: sublayers `query`, `key`, `value` with kernels
    `(dim, num_heads, key_dim)` and biases `(num_heads, key_dim)`, and
    `attention_output` with kernel `(num_heads, value_dim, dim)` and bias `(dim,)`.

    Attention runs over the axis before the features: inputs `(batch, T, dim)`,
    or `(batch, ..., T, dim)` with `attention_axes=-2` (the other axes act as
    batch axes).

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (`key_dim` when None).
        dropout: the dropout rate on the attention probabilities in training.
        use_bias: whether the projections have biases.
        output_shape: the trailing output shape (an int or a tuple); the
            query's last dimension when None.
        attention_axes: None (the axis before the features for rank-3
            inputs) or that single axis, e.g. `-2` or `(1,)`; attention over
            several axes is not supported.
        kernel_initializer, bias_initializer: initializers of the projections.
        kernel_regularizer, bias_regularizer: penalties on the projections' weights.
        activity_regularizer: penalty on each projection's output (as Keras).
        kernel_constraint, bias_constraint: projections after each update.
        seed: an int for a reproducible dropout stream.

    Call arguments:
        query: `(batch, T, dim)`.
        value: `(batch, S, dim)`.
        key: optional `(batch, S, dim)`; `value` is used when None.
        query_mask, value_mask, key_mask: optional boolean `(batch, T)` /
            `(batch, S)` masks; taken from the inputs' Keras masks when None.
            The query mask also becomes the output's mask.
        attention_mask: optional boolean `(batch, T, S)` mask, True where a
            query step may attend to a key step.
        return_attention_scores: also return the probabilities
            `(batch, num_heads, T, S)` (before dropout).
        training: apply dropout.
        use_causal_mask: query step i only attends to key steps j <= i.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.ones((3, 5, 8), "float32")
        >>> out, scores = mha(x, x, return_attention_scores=True)
        >>> out.shape, scores.shape
        ((3, 5, 8), (3, 2, 5, 5))
        >>> [w.shape for w in mha.weights][:2]
        [(8, 2, 4), (2, 4)]
    """

    _engine_threads = True

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: int | Sequence[int] | None = None,
        attention_axes: int | Sequence[int] | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for arg, val in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
                raise ValueError(
                    f"MultiHeadAttention {arg} must be a positive integer, got {val!r}."
                )
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention dropout must be in [0, 1), got {dropout}.")
        if flash_attention and dropout > 0:
            raise ValueError(
                "MultiHeadAttention: dropout is not supported with flash_attention=True; "
                "set dropout=0.0 or leave flash_attention unset."
            )
        self._flash_attention = bool(flash_attention)
        self.supports_masking = True
        self._num_heads = int(num_heads)
        self._key_dim = int(key_dim)
        self._value_dim = int(value_dim) if value_dim else int(key_dim)
        self._dropout = dropout
        self._use_bias = use_bias
        if output_shape:
            if isinstance(output_shape, (int, np.integer)):
                output_shape = (int(output_shape),)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError as err:
                raise ValueError(
                    f"MultiHeadAttention output_shape must be an int, a tuple or a list, "
                    f"got {output_shape!r}."
                ) from err
        self._output_shape = output_shape or None
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, (int, np.integer)):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                f"MultiHeadAttention attention_axes must be an int, a list or a tuple, "
                f"got {attention_axes!r}."
            )
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    @property
    def num_heads(self) -> int:
        return self._num_heads

    @property
    def key_dim(self) -> int:
        return self._key_dim

    @property
    def value_dim(self) -> int:
        return self._value_dim

    @property
    def dropout(self) -> float:
        return self._dropout

    @property
    def use_bias(self) -> bool:
        return self._use_bias

    @property
    def attention_axes(self) -> tuple[int, ...] | None:
        return self._attention_axes

    @property
    def query_dense(self) -> HeadProjection:
        return self._query_dense

    @property
    def key_dense(self) -> HeadProjection:
        return self._key_dense

    @property
    def value_dense(self) -> HeadProjection:
        return self._value_dense

    @property
    def output_dense(self) -> HeadProjection:
        return self._output_dense

    # Building -----------------------------------------------------------------------------
    def _sublayer_kwargs(self) -> dict[str, Any]:
        def clone(init: Any) -> Any:
            # A fresh copy per sublayer, as Keras makes, so that stateful
            # initializers do not hand every projection the same values.
            return init.clone() if hasattr(init, "clone") else init

        return {
            "use_bias": self._use_bias,
            "kernel_initializer": clone(self._kernel_initializer),
            "bias_initializer": clone(self._bias_initializer),
            "kernel_regularizer": self._kernel_regularizer,
            "bias_regularizer": self._bias_regularizer,
            "activity_regularizer": self._activity_regularizer,
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint,
            "dtype": self.dtype,
        }

    def _resolve_attention_axes(self, query_rank: int) -> tuple[int, ...]:
        # Keras counts negative axes in the projected rank (one more than the input's).
        seq_axis = query_rank - 2
        if self._attention_axes is None:
            axes = tuple(range(1, query_rank - 1))
        else:
            axes = tuple(a if a >= 0 else query_rank + a for a in self._attention_axes)
        if axes != (seq_axis,):
            raise ValueError(
                f"MultiHeadAttention supports attention over one axis, the one before the "
                f"features (axis {seq_axis} for inputs of rank {query_rank}), got "
                f"attention_axes={self._attention_axes}; pass attention_axes={seq_axis} or "
                "reshape the inputs to (batch, steps, features)."
            )
        return axes

    def build(
        self,
        query_shape: Sequence[int | None],
        value_shape: Sequence[int | None] | None = None,
        key_shape: Sequence[int | None] | None = None,
    ) -> None:
        """Create the four projections for inputs of the given shapes.

        Args:
            query_shape: the shape of `query`.
            value_shape: the shape of `value`.
            key_shape: the shape of `key` (`value_shape` when None).
        """
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal; "
                f"got value_shape={value_shape} and key_shape={key_shape}."
            )
        if len(query_shape) < 3 or len(value_shape) != len(query_shape):
            raise ValueError(
                "MultiHeadAttention needs query and value of the same rank, at least 3 "
                f"(batch, steps, features); got {query_shape} and {value_shape}."
            )
        self._attention_axes = self._resolve_attention_axes(len(query_shape))
        heads = self._num_heads
        self._query_dense = HeadProjection(
            (heads, self._key_dim), name="query", **self._sublayer_kwargs()
        )
        self._query_dense.build(query_shape)
        self._key_dense = HeadProjection(
            (heads, self._key_dim), name="key", **self._sublayer_kwargs()
        )
        self._key_dense.build(key_shape)
        self._value_dense = HeadProjection(
            (heads, self._value_dim), name="value", **self._sublayer_kwargs()
        )
        self._value_dense.build(value_shape)
        out_shape = self._output_shape or (query_shape[-1],)
        self._output_dense = HeadProjection(
            out_shape, contract_dims=2, name="attention_output", **self._sublayer_kwargs()
        )
        self._output_dense.build((*query_shape[:-1], heads, self._value_dim))
        for sub in (self._query_dense, self._key_dense, self._value_dense, self._output_dense):
            for w in sub.weights:
                w.path = f"{self.name}/{sub.name}/{w.name}"
        self.built = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = list(args)
        for i, name in enumerate(("query", "value", "key")):
            if name in kwargs and len(args) == i:
                args.append(kwargs.pop(name))
        if len(args) < 2:
            raise TypeError(
                "MultiHeadAttention is called as layer(query, value) or layer(query, value, key)."
            )
        # The call converts the query; value and key get the same float conversion.
        args[1:3] = [_to_tensor(a) for a in args[1:3]]
        if not self.built:
            shapes = [_shape(a) for a in args[:3] if a is not None]
            self._build_input_shape = shapes
            self.build(*shapes)
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
        return super().__call__(*args, **kwargs)

    # Calling -----------------------------------------------------------------------------
    def _compute_attention_mask(
        self,
        query: Any,
        value: Any,
        query_mask: Any,
        value_mask: Any,
        key_mask: Any,
        attention_mask: Any,
        use_causal_mask: bool,
    ) -> np.ndarray | None:
        """The `(batch, T, S)` boolean mask from the input masks, causality and `attention_mask`."""
        auto = None
        if query_mask is not None:
            auto = np.expand_dims(_as_bool(query_mask), -1)
        for m in (value_mask, key_mask):
            if m is not None:
                expanded = np.expand_dims(_as_bool(m), -2)
                auto = expanded if auto is None else auto & expanded
        if use_causal_mask:
            causal = causal_mask(_shape(query)[-2], _shape(value)[-2])
            auto = causal if auto is None else auto & causal
        if attention_mask is not None:
            attention_mask = _as_bool(attention_mask)
            return attention_mask if auto is None else attention_mask & auto
        return auto

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        query_mask: Any = None,
        value_mask: Any = None,
        key_mask: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
        training: bool | None = None,
        use_causal_mask: bool = False,
    ) -> Any:
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                "MultiHeadAttention: return_attention_scores is not supported with "
                "flash_attention=True; leave flash_attention unset to get the scores."
            )
        if key is None:
            key = value
        elif key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        mask = self._compute_attention_mask(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
        )
        if mask is not None:
            # Broadcast over the heads axis of the scores (batch..., heads, T, S).
            scores_rank = len(_shape(query)) + 1
            while mask.ndim < scores_rank:
                mask = np.expand_dims(mask, -3)

        dropout = self._dropout if training else 0.0
        if (
            not return_attention_scores
            and self._activity_regularizer is None
            and _same_input(query, value)
            and _same_input(key, value)
        ):
            # Self-attention on one tensor: the three projections share one GEMM,
            # and the output projection runs in the same op, chunk by chunk, when
            # it is this package's own (a subclass may compute something else).
            output = self._output_dense
            fuse_output = type(output) is HeadProjection and output.activity_regularizer is None
            heads = multi_head_self_attention(
                query,
                self._query_dense.kernel,
                self._query_dense.bias,
                self._key_dense.kernel,
                self._key_dense.bias,
                self._value_dense.kernel,
                self._value_dense.bias,
                mask=mask,
                scale=self._inverse_sqrt_key_dim,
                dropout_rate=dropout,
                seed_generator=self.seed_generator,
                output_kernel=output.kernel if fuse_output else None,
                output_bias=output.bias if fuse_output else None,
            )
            return heads if fuse_output else output(heads)

        # Projections give (batch, T, heads, size); attention runs heads-first.
        q = onp.swapaxes(self._query_dense(query), -2, -3)
        k = onp.swapaxes(self._key_dense(key), -2, -3)
        v = onp.swapaxes(self._value_dense(value), -2, -3)
        scores = None
        if return_attention_scores:
            logits = onp.matmul(
                onp.multiply(q, self._inverse_sqrt_key_dim), onp.swapaxes(k, -1, -2)
            )
            scores = masked_softmax(logits, mask)
            weights = scores
            if dropout > 0:
                weights = onp.multiply(
                    scores, dropout_scale(scores.shape, dropout, scores.dtype, self.seed_generator)
                )
            heads = onp.matmul(weights, v)
        else:
            heads = scaled_dot_product_attention(
                q,
                k,
                v,
                mask=mask,
                scale=self._inverse_sqrt_key_dim,
                dropout_rate=dropout,
                seed_generator=self.seed_generator,
            )
        output = self._output_dense(onp.swapaxes(heads, -2, -3))
        if return_attention_scores:
            return output, scores
        return output

    # Shapes and config -------------------------------------------------------------------
    def compute_output_shape(
        self,
        query_shape: Any,
        value_shape: Any = None,
        key_shape: Any = None,
    ) -> tuple[int | None, ...]:
        if (
            value_shape is None
            and query_shape
            and not isinstance(query_shape[0], (int, np.integer, type(None)))
        ):
            # A functional graph hands over the shapes of all tensor arguments as one list.
            shapes = list(query_shape)
            query_shape, value_shape = shapes[0], shapes[1] if len(shapes) > 1 else shapes[0]
            key_shape = shapes[2] if len(shapes) > 2 else None
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal; "
                f"got value_shape={value_shape} and key_shape={key_shape}."
            )
        if self._output_shape:
            return (*query_shape[:-1], *self._output_shape)
        return query_shape

    def compute_output_spec(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        query_mask: Any = None,
        value_mask: Any = None,
        key_mask: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
        training: Any = None,
        use_causal_mask: bool = False,
    ) -> Any:
        out = KerasTensor(
            self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape),
            self.dtype,
        )
        if not return_attention_scores:
            return out
        q_shape, v_shape = query.shape, value.shape
        scores_shape = (*q_shape[:-2], self._num_heads, q_shape[-2], v_shape[-2])
        return out, KerasTensor(scores_shape, self.dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_heads": self._num_heads,
                "key_dim": self._key_dim,
                "value_dim": self._value_dim,
                "dropout": self._dropout,
                "use_bias": self._use_bias,
                "output_shape": None if self._output_shape is None else list(self._output_shape),
                "attention_axes": (
                    None if self._attention_axes is None else list(self._attention_axes)
                ),
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint),
                "seed": self.seed,
            }
        )
        return config
