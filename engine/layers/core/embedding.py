"""`Embedding`: integer indices to dense vectors, as one fused gather op."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.backend.tensor import Tensor, record
from engine.layers.layer import Layer
from engine.ops.core import as_array

# Below this vocabulary size a dense one-hot GEMM accumulates the gradient
# rows faster than the scatter-add (measured on (6400, 128) and (64000, 32)
# gradients: one-hot wins up to a few dozen rows, loses badly beyond).
_ONE_HOT_MAX_ROWS = 64


def _accumulate_rows(ids: np.ndarray, grads: np.ndarray, rows: int) -> np.ndarray:
    """`out[ids[k]] += grads[k]` for every k, into a zero `(rows, dim)` array.

    One call on the calling thread, also inside a `parallel_scope`: split by
    table rows over two threads, each scanning every id for its own, it was
    slower on the 2-core benchmark machine (6400 ids from 20,000 rows: 0.59 ms
    against 0.50 ms at 64 wide, 0.98 against 0.92 ms at 128 wide).
    """
    dim = grads.shape[-1]
    if rows <= _ONE_HOT_MAX_ROWS:
        one_hot = np.zeros((rows, ids.size), dtype=grads.dtype)
        one_hot[ids, np.arange(ids.size)] = 1
        return one_hot @ grads
    out = np.zeros((rows, dim), dtype=grads.dtype)
    # Rows whose index occurs once are copied; only repeated indices need the
    # scatter-add, several times slower per element (a batch of 6400 ids from a
    # 20,000-word vocabulary, 128 wide: 7.0 -> 5.9 ms). Every row is written at
    # once (a repeated index keeps its last), then the repeated indices' rows are
    # zeroed and summed: no gathered copy of the others (2.6 -> 2.3 ms with cold
    # caches). Sums come out identical.
    repeated = np.bincount(ids, minlength=rows)[ids] > 1
    if 2 * np.count_nonzero(repeated) < len(ids):
        out[ids] = grads
        ids, grads = ids[repeated], grads[repeated]
        out[ids] = 0
    # A 1-D scatter-add takes NumPy's fast path; the 2-D row form does not.
    flat = (ids[:, None] * dim + np.arange(dim)).reshape(-1)
    np.add.at(out.reshape(-1), flat, grads.reshape(-1))
    return out


def embedding_lookup(ids: Any, table: Any) -> Tensor:
    """`table[ids]` as one tape entry whose backward sums the gradient rows per index.

    Args:
        ids: integer indices of any shape and any integer dtype.
        table: `(rows, dim)` embeddings.
    """
    t = as_array(table)
    idx = np.asarray(as_array(ids))
    flat = idx.reshape(-1).astype(np.intp, copy=False)
    # `take` gathers rows two to three times faster than fancy indexing.
    out = np.take(t, flat, axis=0)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[None, np.ndarray]:
        ids_in_order, rows = flat, g
        if not g.flags.c_contiguous and g.ndim == idx.ndim + 1:
            # A gradient laid out in another axis order (a recurrent layer's
            # time-major one, seen batch-major) is read in its memory order,
            # with the ids permuted alike, instead of being copied into ours.
            order = sorted(range(idx.ndim), key=lambda axis: -abs(g.strides[axis]))
            permuted = g.transpose(*order, idx.ndim)
            if permuted.flags.c_contiguous:
                ids_in_order = idx.transpose(order).reshape(-1).astype(np.intp)
                rows = permuted
        return None, _accumulate_rows(ids_in_order, rows.reshape(-1, t.shape[1]), t.shape[0])

    return record(out.reshape(*idx.shape, t.shape[1]), (ids, table), vjp)


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors of a fixed size.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the size of each vector.
        embeddings_initializer: initializer of `embeddings`
            (`"uniform"`: uniform on [-0.05, 0.05]).
        embeddings_regularizer: optional penalty on `embeddings`.
        embeddings_constraint: optional projection of `embeddings`.
        mask_zero: treat index 0 as padding: the output mask is `inputs != 0`,
            so following layers (RNNs, pooling, ...) skip those steps. Index 0
            then cannot be a word (use `input_dim = vocabulary + 1`).
        weights: optional initial `(input_dim, output_dim)` matrix.
        lora_rank, lora_alpha, quantization_config: accepted so that Keras
            configs load; only their defaults (None) are supported.
        input_length: deprecated in Keras 3 and ignored (with a warning).

    Example:
        >>> layer = Embedding(1000, 64, mask_zero=True)
        >>> out = layer(np.array([[4, 20, 0]]))
        >>> out.shape, out._keras_mask.tolist()
        ((1, 3, 64), [[True, True, False]])
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        for name, value in (
            ("lora_rank", lora_rank),
            ("lora_alpha", lora_alpha),
            ("quantization_config", quantization_config),
        ):
            if value is not None:
                raise ValueError(
                    f"Embedding {name} is not supported by this engine; leave it as None."
                )
        if kwargs.pop("input_length", None) is not None:
            warnings.warn(
                "Argument `input_length` is deprecated. Just remove it.", UserWarning, stacklevel=2
            )
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Embedding {name} must be a positive integer, got {value!r}.")
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            name="embeddings",
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        ids = np.asarray(as_array(inputs))
        if ids.dtype.kind not in "iu":
            if ids.dtype.kind == "f" and np.any(ids != np.floor(ids)):
                raise ValueError(
                    f"Embedding {self.name!r} takes integer indices, got non-integer values."
                )
            ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(
                f"Embedding {self.name!r} has input_dim={self.input_dim}, so indices must lie "
                f"in [0, {self.input_dim - 1}]; got indices from {ids.min()} to {ids.max()}."
            )
        return embedding_lookup(ids, self.embeddings)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return np.asarray(as_array(inputs)) != 0

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero,
            }
        )
        return config
