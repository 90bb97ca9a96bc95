"""Benchmark: a 784-256-128-10 ReLU MLP, Adam, batch 128, float32: engine vs PyTorch.

Both train on the same data in the same process, alternating epoch by epoch so
that machine noise hits both alike; the script prints images/s for each and
the engine/PyTorch ratio (above 1.0 means the engine is faster).

Run: python tests/benchmarks/bench_mlp.py [--rounds 5] [--samples 10000]
Uses the real MNIST test set from ../shared/datasets/mnist when present,
random data of the same shape otherwise (speed does not depend on it).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist"


def load_data(samples: int) -> tuple[np.ndarray, np.ndarray, str]:
    images = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
    labels = MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        with gzip.open(images) as fh:
            x = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(labels) as fh:
            y = np.frombuffer(fh.read(), np.uint8, offset=8)
        reps = -(-samples // len(x))
        x = np.tile(x, (reps, 1))[:samples]
        y = np.tile(y, reps)[:samples]
        return (x.astype(np.float32) / 255.0), y.astype(np.int64), "MNIST test set"
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples).astype(np.int64)
    return x, y, "random data (MNIST not found)"


def engine_trainer(x: np.ndarray, y: np.ndarray, batch: int):
    import engine

    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            engine.layers.Dense(256, activation="relu", input_shape=(784,)),
            engine.layers.Dense(128, activation="relu"),
            engine.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=engine.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")

    def epoch() -> float:
        return float(model.fit(x, y, batch_size=batch, epochs=1, verbose=0).history["loss"][-1])

    return epoch


def torch_trainer(x: np.ndarray, y: np.ndarray, batch: int):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run this benchmark.")
        return 1
    x, y, source = load_data(args.samples)
    run_engine = engine_trainer(x, y, args.batch)
    run_torch = torch_trainer(x, y, args.batch)
    run_engine()
    run_torch()  # warm-up: first-call costs are not what we measure
    times: dict[str, list[float]] = {"engine": [], "torch": []}
    losses: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn in (("engine", run_engine), ("torch", run_torch)):
            start = time.perf_counter()
            losses[name] = fn()
            times[name].append(time.perf_counter() - start)
    ips = {k: len(x) / statistics.median(v) for k, v in times.items()}
    print(f"data: {source}, {len(x)} samples, batch {args.batch}, {args.rounds} rounds")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; numpy {np.__version__}")
    for name in ("engine", "torch"):
        median = statistics.median(times[name])
        print(
            f"{name:>7}: {ips[name]:10.0f} images/s  "
            f"(median epoch {median:.3f} s, last loss {losses[name]:.4f})"
        )
    print(f"ratio engine/torch: {ips['engine'] / ips['torch']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
