"""`DropoutRNNCell`: dropout masks that a recurrent cell reuses at every timestep."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import unwrap


class DropoutRNNCell:
    """Mixin for cells with `dropout` and `recurrent_dropout`, as in Keras.

    A mask is sampled on first use in a sequence and reused at every step; the
    `RNN` layer clears the cache after each call so the next batch draws anew.
    Masks are inverted-dropout scales (0 or `1 / (1 - rate)`). With
    `dropout_mask_count` set (Keras's `implementation=1`), one independent
    mask is drawn per gate. A cell using this mixin has `dropout`,
    `recurrent_dropout`, `seed_generator` and `dtype` attributes.

    Example:
        >>> cell = LSTMCell(4, dropout=0.5)
        >>> cell.get_dropout_mask(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    dropout: float
    recurrent_dropout: float
    seed_generator: Any
    dtype: str

    def _create_dropout_mask(self, step_input: Any, rate: float) -> Any:
        shape = np.shape(unwrap(step_input))
        dtype = np.dtype(self.dtype)
        keep = 1.0 - rate
        generator = self.seed_generator.generator

        def one() -> np.ndarray:
            draws = generator.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32)
            return (draws < keep).astype(dtype) * dtype.type(1.0 / keep)

        count = getattr(self, "dropout_mask_count", None)
        return one() if count is None else [one() for _ in range(count)]

    def get_dropout_mask(self, step_input: Any) -> Any:
        """The cached input mask (a list of per-gate masks with `dropout_mask_count`)."""
        if getattr(self, "_dropout_mask", None) is None and 0 < self.dropout < 1:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input: Any) -> Any:
        """The cached mask for the recurrent state (per gate with `dropout_mask_count`)."""
        if (
            getattr(self, "_recurrent_dropout_mask", None) is None
            and 0 < self.recurrent_dropout < 1
        ):
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout
            )
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self) -> None:
        """Forget the input mask so that the next sequence samples a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the recurrent mask so that the next sequence samples a new one."""
        self._recurrent_dropout_mask = None

    def _sequence_dropout_masks(
        self, sequences: Any, state: Any, training: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Both masks for a whole sequence, stacked `(k, batch, features)` for the fused ops."""
        if not training:
            return None, None
        x = unwrap(sequences)
        dmask = self.get_dropout_mask(x[:, 0])
        rmask = self.get_recurrent_dropout_mask(unwrap(state))
        return _stacked(dmask), _stacked(rmask)


def _stacked(mask: Any) -> np.ndarray | None:
    if mask is None:
        return None
    if isinstance(mask, list):
        return np.stack(mask)
    return mask[None]
