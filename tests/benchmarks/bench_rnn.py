"""Benchmark: sequence models, engine vs PyTorch, training on the same batches in one process.

Each case builds an engine model and its PyTorch twin, trains both for one
epoch per round, alternating engine and PyTorch so that machine noise hits both
alike, and prints samples/s for each and the engine/PyTorch ratio (above 1.0
means the engine is faster). Loads vary on shared machines: the median of the
rounds is reported.

Cases (see CASES at the bottom; add a case by writing a function that returns
a `Case` and appending it there):
- lstm: Embedding(20000, 128) -> LSTM(64) -> Dense(1, sigmoid) on length-100
  sequences, batch 64, binary crossentropy, Adam.
- gru: the same with GRU(64) (`reset_after=True`, which matches torch.nn.GRU).
- transformer: Embedding(20000, 64) -> a Transformer encoder block
  (MultiHeadAttention(4 heads, key_dim 16) + residual + LayerNormalization,
  Dense(128, relu) -> Dense(64) + residual + LayerNormalization) ->
  GlobalAveragePooling1D -> Dense(1, sigmoid); the twin uses
  torch.nn.MultiheadAttention and LayerNorm(eps=1e-3) like Keras.

Each timed epoch starts after a short pause (`--pause`, 0.5 s), so neither
framework starts while the other's thread pool (PyTorch's OpenMP, NumPy's
OpenBLAS) still spins on a core after its last call; `--pause 0` runs them
back to back.

The engine fixes glibc malloc's thresholds for the whole process
(`engine._allocator`), so the PyTorch twin runs with them too: both frameworks
on the same allocator. PyTorch in a process of its own keeps glibc's moving
thresholds and faults its pages in anew each step (on the 2-core benchmark
machine: the Transformer twin's epoch took 1.62-1.73 s alone, 1.07-1.16 s with
the thresholds fixed). `KERASTUI_MALLOC_TUNING=0` runs both on glibc's defaults.

Run: python tests/benchmarks/bench_rnn.py [--rounds 5] [--samples 2560] [--case lstm] [--pause 0.5]
Single-threaded comparison (fairer on a busy machine, where threaded BLAS calls
wait for each other): OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_rnn.py
--torch-threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

VOCAB, EMBED, UNITS, LENGTH = 20000, 128, 64, 100


@dataclass
class Case:
    """A benchmark: a name and two callables that each train one epoch and return the loss."""

    name: str
    description: str
    engine_epoch: Callable[[], float]
    torch_epoch: Callable[[], float]


def text_data(samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids (1..VOCAB-1) and binary labels; speed does not depend on the values."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, (samples, LENGTH)).astype(np.int64)
    y = rng.integers(0, 2, samples).astype(np.float32)
    return x, y


def _engine_recurrent(kind: str, x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], float]:
    import engine

    engine.utils.set_random_seed(0)
    recurrent = engine.layers.LSTM(UNITS) if kind == "lstm" else engine.layers.GRU(UNITS)
    model = engine.Sequential(
        [
            engine.Input((LENGTH,), dtype="int64"),
            engine.layers.Embedding(VOCAB, EMBED),
            recurrent,
            engine.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=engine.optimizers.Adam(1e-3), loss="binary_crossentropy")

    def epoch() -> float:
        history = model.fit(x, y[:, None], batch_size=batch, epochs=1, verbose=0)
        return float(history.history["loss"][-1])

    return epoch


def _torch_trainer(model: Any, x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], float]:
    """One shuffled epoch of `model` with Adam and binary crossentropy, as Keras's fit runs it."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)[:, None]
    n = len(xt)

    def epoch() -> float:
        perm = torch.randperm(n)
        total = 0.0
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        return total / n

    return epoch


def _torch_recurrent(kind: str, x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, EMBED)
            rnn = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            self.rnn = rnn(EMBED, UNITS, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, 1)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            out, _ = self.rnn(self.embedding(ids))
            return torch.sigmoid(self.dense(out[:, -1]))

    return _torch_trainer(Net(), x, y, batch)


def lstm_case(samples: int, batch: int) -> Case:
    x, y = text_data(samples)
    return Case(
        "lstm",
        f"Embedding({VOCAB}, {EMBED}) -> LSTM({UNITS}) -> Dense(1, sigmoid), length {LENGTH}",
        _engine_recurrent("lstm", x, y, batch),
        _torch_recurrent("lstm", x, y, batch),
    )


def gru_case(samples: int, batch: int) -> Case:
    x, y = text_data(samples)
    return Case(
        "gru",
        f"Embedding({VOCAB}, {EMBED}) -> GRU({UNITS}) -> Dense(1, sigmoid), length {LENGTH}",
        _engine_recurrent("gru", x, y, batch),
        _torch_recurrent("gru", x, y, batch),
    )


HEADS, KEY_DIM, DIM, FF = 4, 16, 64, 128


def _engine_transformer(x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], float]:
    import engine
    from engine import layers

    engine.utils.set_random_seed(0)
    inputs = engine.Input((LENGTH,), dtype="int64")
    h = layers.Embedding(VOCAB, DIM)(inputs)
    attended = layers.MultiHeadAttention(HEADS, KEY_DIM)(h, h)
    h = layers.LayerNormalization()(layers.Add()([h, attended]))
    ff = layers.Dense(DIM)(layers.Dense(FF, activation="relu")(h))
    h = layers.LayerNormalization()(layers.Add()([h, ff]))
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    model = engine.Model(inputs, outputs)
    model.compile(optimizer=engine.optimizers.Adam(1e-3), loss="binary_crossentropy")

    def epoch() -> float:
        history = model.fit(x, y[:, None], batch_size=batch, epochs=1, verbose=0)
        return float(history.history["loss"][-1])

    return epoch


def _torch_transformer(x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, DIM)
            self.attention = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True)
            # Keras's LayerNormalization epsilon is 1e-3.
            self.norm1 = torch.nn.LayerNorm(DIM, eps=1e-3)
            self.ff1 = torch.nn.Linear(DIM, FF)
            self.ff2 = torch.nn.Linear(FF, DIM)
            self.norm2 = torch.nn.LayerNorm(DIM, eps=1e-3)
            self.dense = torch.nn.Linear(DIM, 1)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            h = self.embedding(ids)
            attended, _ = self.attention(h, h, h, need_weights=False)
            h = self.norm1(h + attended)
            h = self.norm2(h + self.ff2(torch.relu(self.ff1(h))))
            return torch.sigmoid(self.dense(h.mean(dim=1)))

    return _torch_trainer(Net(), x, y, batch)


def transformer_case(samples: int, batch: int) -> Case:
    x, y = text_data(samples)
    return Case(
        "transformer",
        f"Embedding({VOCAB}, {DIM}) -> MultiHeadAttention({HEADS}, {KEY_DIM}) + residual + "
        f"LayerNormalization -> Dense({FF}, relu) -> Dense({DIM}) + residual + "
        f"LayerNormalization -> GlobalAveragePooling1D -> Dense(1, sigmoid), length {LENGTH}",
        _engine_transformer(x, y, batch),
        _torch_transformer(x, y, batch),
    )


def run_case(case: Case, rounds: int, samples: int, pause: float = 0.5) -> float:
    """Warm both up, time `rounds` alternating epochs, print the result and return the ratio."""
    import torch

    case.engine_epoch()
    case.torch_epoch()
    times: dict[str, list[float]] = {"engine": [], "torch": []}
    losses: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in (("engine", case.engine_epoch), ("torch", case.torch_epoch)):
            time.sleep(pause)
            start = time.perf_counter()
            losses[name] = fn()
            times[name].append(time.perf_counter() - start)
    rate = {k: samples / statistics.median(v) for k, v in times.items()}
    print(f"[{case.name}] {case.description}")
    for name in ("engine", "torch"):
        print(
            f"  {name:>6}: {rate[name]:9.0f} samples/s  "
            f"(median epoch {statistics.median(times[name]):.3f} s, last loss {losses[name]:.4f})"
        )
    ratio = rate["engine"] / rate["torch"]
    print(f"  ratio engine/torch: {ratio:.2f}  (torch threads {torch.get_num_threads()})")
    # Each round's two epochs ran one after the other: the rounds' ratios, in
    # order, show how unevenly the machine's load moved them (and any drift over
    # the run), which the medians above hide.
    paired = [t / e for e, t in zip(times["engine"], times["torch"])]
    print(f"  per-round ratios, in order: {', '.join(f'{r:.2f}' for r in paired)}")
    return ratio


# The benchmark cases: add a `<name>_case(samples, batch) -> Case` function to this list
# (`--case <name>` selects it).
CASES: list[Callable[[int, int], Case]] = [
    lstm_case,
    gru_case,
    transformer_case,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds before each epoch")
    parser.add_argument("--samples", type=int, default=2560)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--case", action="append", help="run only these cases (repeatable)")
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads (default: torch's)"
    )
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run this benchmark.")
        return 1
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    from machine import describe

    print(describe())
    print(f"torch {torch.__version__}; {args.samples} samples/epoch")
    for make in CASES:
        if args.case and make.__name__.removesuffix("_case") not in args.case:
            continue
        run_case(make(args.samples, args.batch), args.rounds, args.samples, args.pause)
    return 0


if __name__ == "__main__":
    sys.exit(main())
