"""`CSVLogger`: stream each epoch's logs to a CSV file."""

from __future__ import annotations

import collections.abc
import csv
import os
from typing import IO, Any

import numpy as np

from engine.callbacks.callback import Callback


class CSVLogger(Callback):
    """Write one CSV row per epoch: `epoch` (from 0) then the logged values, sorted by name.

    The columns are fixed by the first epoch. When it has no `val_` values
    (e.g. with `validation_freq > 1`), `val_` columns are added for every key so
    later validation results have a place; missing values are written as `NA`.
    Sequences such as 1-D arrays are written as `"[a, b, ...]"`.

    Args:
        filename: the CSV file, e.g. `"run/log.csv"`.
        separator: the string between fields.
        append: add to an existing file (no second header) instead of overwriting it.

    Example:
        >>> csv_logger = engine.callbacks.CSVLogger("training.log")
        >>> model.fit(x, y, epochs=3, callbacks=[csv_logger])
    """

    def __init__(
        self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False
    ) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: csv.DictWriter[str] | None = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: IO[str] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # newline="" lets the csv module choose line endings itself, as its docs require.
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError(
                "CSVLogger got an epoch end before train begin; pass it to "
                "model.fit(callbacks=...)."
            )
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend([f"val_{key}" for key in self.keys])
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file,
                fieldnames=["epoch", *self.keys],
                delimiter=self.sep,
                lineterminator="\r\n",
            )
            if self.append_header:
                self.writer.writeheader()
        row: dict[str, Any] = {"epoch": epoch}
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        return {"filename": self.filename, "separator": self.sep, "append": self.append}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CSVLogger:
        """Create a `CSVLogger` from `get_config()` output."""
        return cls(**config)


def _csv_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value
