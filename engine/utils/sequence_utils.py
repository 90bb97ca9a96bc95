"""Padding variable-length sequences into one array, as `keras.utils.pad_sequences`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or truncate) sequences to one length and stack them into an array.

    Args:
        sequences: a list of sequences; each item may itself be an array, so
            that samples of shape `(len, *features)` give `(n, maxlen, *features)`.
        maxlen: the output length; the longest sequence's length when None.
        dtype: the output dtype; use `object` (or a string dtype) for strings.
        padding: `"pre"` or `"post"`: pad before or after each sequence.
        truncating: `"pre"` or `"post"`: drop values from the start or the end
            of sequences longer than `maxlen`.
        value: the padding value.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post")
        array([[1, 0],
               [2, 3],
               [5, 6]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood; use "pre" or "post".')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood; use "pre" or "post".')
    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_shape = False
    for item in sequences:
        try:
            n = len(item)
        except TypeError as err:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {item}"
            ) from err
        lengths.append(n)
        if n and not found_shape:
            # The first non-empty sequence fixes the shape of one step.
            sample_shape = np.asarray(item).shape[1:]
            found_shape = True
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences got no sequences and no maxlen; pass maxlen.")
        maxlen = max(lengths)
    if maxlen < 0:
        raise ValueError(f"pad_sequences needs maxlen >= 0, got {maxlen}.")
    is_string_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_string_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    out = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {idx} is "
                f"different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[idx, : len(kept)] = kept
        else:
            out[idx, -len(kept) :] = kept
    return out
