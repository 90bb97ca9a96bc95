"""Benchmark: the engine's conv op vs torch.nn.functional.conv2d, forward and backward.

Times the three convolutions of the Keras CIFAR-10 CNN at batch 64 (float32,
3x3 kernels, 'valid'): 32x32x3 -> 32 filters (the first layer: no input
gradient), 15x15x32 -> 64 and 6x6x64 -> 64. The engine and PyTorch run in one
process, alternating call by call so that machine noise hits both alike; the
script prints the median (and fastest) milliseconds of each and the
engine/PyTorch speed ratio of the medians (above 1.0 means the engine is faster).

Run: python tests/benchmarks/bench_conv.py [--repeats 30] [--workers N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

CASES = [
    ("conv1 32x32x3->32", (64, 32, 32, 3), 32, False),
    ("conv2 15x15x32->64", (64, 15, 15, 32), 64, True),
    ("conv3 6x6x64->64", (64, 6, 6, 64), 64, True),
]


def engine_fns(shape: tuple[int, ...], filters: int, input_grad: bool):
    from engine.backend import GradientTape, Tensor
    from engine.ops.conv import conv

    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape, dtype=np.float32))
    w = Tensor(rng.standard_normal((3, 3, shape[-1], filters), dtype=np.float32))
    b = Tensor(np.zeros(filters, np.float32))
    sources = [x, w, b] if input_grad else [w, b]

    def forward() -> None:
        conv(x, w, bias=b)

    def train_step() -> None:
        with GradientTape() as tape:
            tape.watch(sources)
            y = conv(x, w, bias=b)
        tape.gradient(y, sources, output_gradients=np.ones(y.shape, np.float32))

    return forward, train_step


def torch_fns(shape: tuple[int, ...], filters: int, input_grad: bool):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    n, h, w_, c = shape
    x = torch.randn(n, c, h, w_, requires_grad=input_grad)
    w = torch.randn(filters, c, 3, 3, requires_grad=True)
    b = torch.zeros(filters, requires_grad=True)

    def forward() -> None:
        with torch.no_grad():
            F.conv2d(x, w, b)

    def train_step() -> None:
        y = F.conv2d(x, w, b)
        y.backward(torch.ones_like(y))
        w.grad = b.grad = x.grad = None

    return forward, train_step


def alternate(
    a: Callable[[], None], b: Callable[[], None], repeats: int
) -> tuple[list[float], list[float]]:
    a(), b()
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(repeats):
        for fn, times in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - start))
    return ta, tb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--workers", type=int, default=None, help="engine threads (default: all)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run this benchmark.")
        return 1
    from engine.ops import batch_parallel

    if args.workers is not None:
        batch_parallel.set_num_workers(args.workers)
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads); numpy {np.__version__}; "
        f"engine workers {batch_parallel.num_workers()}"
    )
    for name, shape, filters, input_grad in CASES:
        e_fwd, e_step = engine_fns(shape, filters, input_grad)
        t_fwd, t_step = torch_fns(shape, filters, input_grad)
        for label, e, t in (("forward", e_fwd, t_fwd), ("fwd+bwd", e_step, t_step)):
            te, tt = alternate(e, t, args.repeats)
            me, mt = statistics.median(te), statistics.median(tt)
            print(
                f"{name:>20} {label:>8}: engine {me:6.2f} ms (min {min(te):6.2f})  "
                f"torch {mt:6.2f} ms (min {min(tt):6.2f})  ratio {mt / me:4.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
