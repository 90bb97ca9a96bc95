"""Model builders that specs name with `builder = "experiments.builders:<function>"`.

A builder is a plain function returning an `engine` model; a spec's
`[model.args]` are its keyword arguments, and the runner passes the data's
sample shape as `input_shape`. Functional models (several branches, residual
connections, attention) are written here rather than as `[[model.layers]]`.
"""

from __future__ import annotations

from typing import Any

import engine
from engine import layers, ops
from engine.saving import register_keras_serializable


@register_keras_serializable(package="experiments")
class PositionEmbedding(layers.Layer):
    """Adds a learned vector per sequence position to its input, as in BERT or GPT-2.

    Attention layers see a sequence as a set; adding position vectors to the
    token embeddings tells them where each token is.

    Args:
        sequence_length: the longest sequence the layer accepts.
        initializer: how the position vectors start.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Example:
        >>> x = engine.layers.Input(shape=(20, 32))
        >>> PositionEmbedding(20)(x).shape
        (None, 20, 32)
    """

    def __init__(
        self, sequence_length: int, initializer: Any = "glorot_uniform", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(sequence_length, int) or sequence_length < 1:
            raise ValueError(
                f"PositionEmbedding sequence_length must be a positive integer, got "
                f"{sequence_length!r}."
            )
        self.sequence_length = sequence_length
        self.initializer = engine.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        length, dim = input_shape[-2], input_shape[-1]
        if length is not None and length > self.sequence_length:
            raise ValueError(
                f"PositionEmbedding {self.name!r} holds {self.sequence_length} positions but got "
                f"sequences of length {length}; raise sequence_length."
            )
        self.embeddings = self.add_weight(
            shape=(self.sequence_length, dim), initializer=self.initializer, name="embeddings"
        )

    def call(self, inputs: Any) -> Any:
        length = inputs.shape[-2]
        positions = self.embeddings if length == self.sequence_length else self.embeddings[:length]
        return ops.add(inputs, positions)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as `from_config` takes them."""
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "initializer": engine.initializers.serialize(self.initializer),
        }


def transformer_classifier(
    input_shape: tuple[int, ...],
    vocab_size: int,
    embed_dim: int = 32,
    num_heads: int = 4,
    ff_dim: int = 64,
    dropout: float = 0.0,
    hidden_units: int = 20,
    mask_zero: bool = True,
) -> engine.Model:
    """A text classifier with one Transformer encoder block, as in the Keras example.

    Token embeddings plus learned position embeddings, then multi-head
    self-attention and a feed-forward network, each with a residual connection
    and layer normalisation, then average pooling over the sequence and a small
    dense head with one sigmoid output (binary labels). With `mask_zero`, the
    padding (token 0) is masked: attention ignores it and pooling skips it.

    Args:
        input_shape: `(sequence_length,)`: token ids per sample.
        vocab_size: the number of token ids (the largest id plus one).
        embed_dim: the size of token and position embeddings.
        num_heads: attention heads (each of size `embed_dim // num_heads`).
        ff_dim: hidden units of the feed-forward network.
        dropout: the dropout rate after attention, the feed-forward network and pooling
            (the Keras example uses 0.1; on a few thousand sentences it slows learning).
        hidden_units: units of the dense layer before the output.
        mask_zero: treat token 0 as padding.

    Example:
        >>> model = transformer_classifier((20,), vocab_size=100)
        >>> model.output_shape
        (None, 1)
    """
    (sequence_length,) = input_shape
    inputs = layers.Input(shape=(sequence_length,), dtype="int32")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=mask_zero)(inputs)
    # Position vectors start as small as the token embeddings, so neither drowns the other.
    x = PositionEmbedding(sequence_length, initializer="uniform")(x)
    attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)(x, x)
    attention = layers.Dropout(dropout)(attention)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attention]))
    ff = layers.Dense(ff_dim, activation="relu")(x)
    ff = layers.Dense(embed_dim)(ff)
    ff = layers.Dropout(dropout)(ff)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ff]))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden_units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return engine.Model(inputs, outputs, name="transformer_classifier")
