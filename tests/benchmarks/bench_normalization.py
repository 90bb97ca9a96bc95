"""Benchmark: normalization layers, engine vs PyTorch, forward + backward, float32.

Each case runs one layer's forward pass, a weighted sum of its output and the
backward pass to the input and the weights, for the engine layer and its
PyTorch twin, alternating round by round in one process. It prints the
samples/s of each and the ratio engine / PyTorch (above 1 the engine is faster).

Cases: BatchNormalization in training and inference mode on conv activations
(64 x 30 x 30 x 32 and 64 x 13 x 13 x 64), LayerNormalization on a Transformer's
(64, 100, 128) activations, GroupNormalization(8) on (64, 16, 16, 32).

Run: python tests/benchmarks/bench_normalization.py [--rounds 5] [--repeats 10] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np


def engine_step(layer, x: np.ndarray, up: np.ndarray, training: bool) -> Callable[[], None]:
    from engine import ops
    from engine.backend import GradientTape, Tensor

    def step() -> None:
        t = Tensor(x)
        with GradientTape() as tape:
            tape.watch(t)
            total = ops.sum(ops.multiply(layer(t, training=training), up))
        tape.gradient(total, [t, *layer.trainable_weights])

    return step


def torch_step(module, x: np.ndarray, up: np.ndarray, training: bool) -> Callable[[], None]:
    import torch

    tx = torch.tensor(x, requires_grad=True)
    tup = torch.tensor(up)
    module.train(training)

    def step() -> None:
        tx.grad = None
        module.zero_grad()
        (module(tx) * tup).sum().backward()

    return step


def cases() -> list[tuple[str, Callable[[], None], Callable[[], None], int]]:
    import torch

    from engine import layers

    rng = np.random.default_rng(0)
    out = []

    def channels_first(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(a, -1, 1))

    for shape in [(64, 30, 30, 32), (64, 13, 13, 64)]:
        x = rng.normal(size=shape).astype("float32")
        up = rng.normal(size=shape).astype("float32")
        for training in (True, False):
            layer = layers.BatchNormalization()
            layer(x)
            module = torch.nn.BatchNorm2d(shape[-1], eps=1e-3, momentum=0.01)
            name = f"BatchNormalization {'train' if training else 'infer'} {shape}"
            out.append(
                (
                    name,
                    engine_step(layer, x, up, training),
                    torch_step(module, channels_first(x), channels_first(up), training),
                    shape[0],
                )
            )

    shape = (64, 100, 128)
    x, up = rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")
    layer = layers.LayerNormalization()
    layer(x)
    module = torch.nn.LayerNorm(128, eps=1e-3)
    out.append(
        (
            f"LayerNormalization {shape}",
            engine_step(layer, x, up, True),
            torch_step(module, x, up, True),
            64,
        )
    )

    shape = (64, 16, 16, 32)
    x, up = rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")
    layer = layers.GroupNormalization(groups=8)
    layer(x)
    module = torch.nn.GroupNorm(8, 32, eps=1e-3)
    out.append(
        (
            f"GroupNormalization(8) {shape}",
            engine_step(layer, x, up, True),
            torch_step(module, channels_first(x), channels_first(up), True),
            64,
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--threads", type=int, default=0, help="threads for both (default: all cores)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        from engine.ops import batch_parallel

        torch.set_num_threads(args.threads)
        batch_parallel.set_num_workers(args.threads)

    for name, engine_fn, torch_fn, batch in cases():
        engine_fn()
        torch_fn()
        times: dict[str, list[float]] = {"engine": [], "torch": []}
        for _ in range(args.rounds):
            for label, fn in (("engine", engine_fn), ("torch", torch_fn)):
                start = time.perf_counter()
                for _ in range(args.repeats):
                    fn()
                times[label].append((time.perf_counter() - start) / args.repeats)
        # The median round resists the odd round slowed by other processes.
        engine_rate = batch / statistics.median(times["engine"])
        torch_rate = batch / statistics.median(times["torch"])
        print(
            f"{name:48s} engine {engine_rate:9.0f} samples/s   torch {torch_rate:9.0f} "
            f"samples/s   ratio {engine_rate / torch_rate:5.2f}x"
        )


if __name__ == "__main__":
    main()
