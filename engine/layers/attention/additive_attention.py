"""`AdditiveAttention`: Bahdanau-style attention with scores `sum(scale * tanh(q + k), -1)`."""

from __future__ import annotations

from typing import Any

from engine.layers.attention.attention import Attention
from engine.ops.attention import additive_attention_scores, attention_from_scores


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Like `Attention`, but the scores are the non-linear sum
    `sum(scale * tanh(query_i + key_j), axis=-1)`, with `scale` a trainable
    vector of size `dim` (glorot-uniform initialised) when `use_scale`.

    Args:
        use_scale: create the `(dim,)` weight `scale` weighting the tanh terms.
        dropout: the fraction of attention weights dropped in training.
        seed: an int for a reproducible dropout stream.

    Call arguments:
        inputs, mask, return_attention_scores, training, use_causal_mask: as
        for `Attention`.

    Example:
        >>> q = np.ones((2, 3, 4), "float32")
        >>> v = np.ones((2, 5, 4), "float32")
        >>> AdditiveAttention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._validate_inputs(input_shape)
        dim = input_shape[0][-1]
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale")
        self.built = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        return additive_attention_scores(query, key, outer_scale=self.scale)

    def _attend(self, query: Any, value: Any, key: Any, score_mask: Any, dropout: float) -> Any:
        return attention_from_scores(
            self._calculate_scores(query, key),
            value,
            mask=score_mask,
            dropout_rate=dropout,
            seed_generator=self.seed_generator,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
