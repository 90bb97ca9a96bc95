"""`Attention`: dot-product (Luong-style) attention over a query and a value sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.keras_tensor import KerasTensor
from engine.backend.random import SeedGenerator
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.attention import (
    additive_attention_scores,
    attention_from_scores,
    causal_mask,
    dropout_scale,
    masked_softmax,
    scaled_dot_product_attention,
)


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Takes `[query, value]` or `[query, value, key]` (the key defaults to the
    value): scores of shape `(batch, Tq, Tv)` from query and key, a softmax over
    `Tv`, then a weighted sum of the values, `(batch, Tq, dim)`.

    Args:
        use_scale: create a scalar weight `scale` (initialised to 1) that
            multiplies the scores (`"dot"`) or the query-key sums (`"concat"`).
        score_mode: `"dot"` for `query @ key^T`, `"concat"` for
            `concat_score_weight * sum(tanh(query + key), -1)`.
        dropout: the fraction of attention weights dropped in training.
        seed: an int for a reproducible dropout stream.

    Call arguments:
        inputs: `[query (batch, Tq, dim), value (batch, Tv, dim)]` and
            optionally a third `key (batch, Tv, dim)`.
        mask: `[query_mask (batch, Tq), value_mask (batch, Tv)]`; taken from
            the inputs' Keras masks when not given. Masked values get no
            weight; the output is zero at masked query steps.
        return_attention_scores: also return the weights `(batch, Tq, Tv)`
            (after masking, softmax and dropout).
        training: apply dropout.
        use_causal_mask: query step i only sees value steps j <= i.

    Example:
        >>> q = np.ones((2, 3, 4), "float32")
        >>> v = np.ones((2, 5, 4), "float32")
        >>> out, scores = Attention()([q, v], return_attention_scores=True)
        >>> out.shape, scores.shape
        ((2, 3, 4), (2, 3, 5))
    """

    _engine_threads = True

    def __init__(
        self,
        use_scale: bool = False,
        score_mode: str = "dot",
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"Attention score_mode must be 'dot' or 'concat', got score_mode={score_mode!r}."
            )
        if not 0 <= dropout < 1:
            raise ValueError(f"Attention dropout must be in [0, 1), got dropout={dropout}.")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                shape=(), initializer="ones", name="concat_score_weight"
            )
        self.built = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        """Raw attention logits `(batch, Tq, Tv)`."""
        if self.score_mode == "dot":
            scores = onp.matmul(query, onp.swapaxes(key, -1, -2))
            return scores if self.scale is None else onp.multiply(scores, self.scale)
        return additive_attention_scores(query, key, self.scale, self.concat_score_weight)

    def _attend(self, query: Any, value: Any, key: Any, score_mask: Any, dropout: float) -> Any:
        """The attended values, through the fused op of this score mode."""
        if self.score_mode == "dot":
            return scaled_dot_product_attention(
                query,
                key,
                value,
                mask=score_mask,
                scale=1.0 if self.scale is None else self.scale,
                dropout_rate=dropout,
                seed_generator=self.seed_generator,
            )
        return attention_from_scores(
            self._calculate_scores(query, key),
            value,
            mask=score_mask,
            dropout_rate=dropout,
            seed_generator=self.seed_generator,
        )

    def call(
        self,
        inputs: Any,
        mask: Any = None,
        training: bool = False,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ) -> Any:
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        score_mask = _score_mask(
            v_mask, use_causal_mask, np.shape(unwrap(query))[-2], np.shape(unwrap(key))[-2]
        )
        dropout = self.dropout if training else 0.0
        if return_attention_scores:
            weights = masked_softmax(self._calculate_scores(query, key), score_mask)
            if dropout > 0:
                weights = onp.multiply(
                    weights,
                    dropout_scale(weights.shape, dropout, weights.dtype, self.seed_generator),
                )
            result = onp.matmul(weights, value)
        else:
            result = self._attend(query, value, key, score_mask, dropout)
        if q_mask is not None:
            keep = np.expand_dims(np.asarray(unwrap(q_mask)) != 0, -1)
            result = onp.multiply(result, keep.astype(result.dtype))
        if return_attention_scores:
            return result, weights
        return result

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (*tuple(input_shape[0])[:-1], input_shape[1][-1])

    def compute_output_spec(
        self,
        inputs: Any,
        mask: Any = None,
        return_attention_scores: bool = False,
        training: Any = None,
        use_causal_mask: bool = False,
    ) -> Any:
        self._validate_inputs(inputs, mask)
        out = KerasTensor(self.compute_output_shape([t.shape for t in inputs]), self.dtype)
        if not return_attention_scores:
            return out
        q_shape, k_shape = inputs[0].shape, inputs[-1].shape
        return out, KerasTensor((*q_shape[:-1], k_shape[-2]), self.dtype)

    def _validate_inputs(self, inputs: Any, mask: Any = None) -> None:
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{name} layer must be called on a list of inputs, namely [query, value] or "
                f"[query, value, key], got {type(inputs).__name__}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer accepts a list of 2 or 3 inputs ([query, value] or "
                f"[query, value, key]), got {len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(
                    f"{name} layer mask must be a list [query_mask, value_mask], "
                    f"got {type(mask).__name__}."
                )
            if not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{name} layer accepts a mask list of length 2 or 3, got {len(mask)}."
                )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout}
        )
        return config


def _score_mask(value_mask: Any, use_causal_mask: bool, q_len: int, v_len: int) -> Any:
    """The `(batch, 1 or Tq, Tv)` boolean mask of the scores, or None."""
    m = None
    if value_mask is not None:
        m = np.expand_dims(np.asarray(unwrap(value_mask)) != 0, -2)
    if use_causal_mask:
        causal = causal_mask(q_len, v_len)[None]
        m = causal if m is None else m & causal
    return m
