"""Benchmark: max pooling forward+backward and forward only, engine vs PyTorch, float32.

The shapes are the two MaxPooling2D((2, 2)) calls of the Keras CIFAR-10 CNN at
batch 64: 30x30x32 (even) and 13x13x64 (odd, valid pooling drops the last row
and column). The PyTorch twin pools NCHW tensors, as the CNN benchmark's twin
does; `--channels-last` also times PyTorch on channels-last memory. Engine and
PyTorch run alternately in one process so machine noise hits both alike; the
script prints images/s for each and the engine/PyTorch ratio (above 1.0 means
the engine is faster).

Run: python tests/benchmarks/bench_pooling.py [--rounds 7] [--repeats 20] [--channels-last]
     [--torch-threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

SHAPES = [(64, 30, 30, 32), (64, 13, 13, 64)]


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call, the best of `repeats` consecutive calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def engine_fns(x: np.ndarray) -> dict[str, Callable[[], object]]:
    from engine import ops
    from engine.backend import GradientTape, Tensor

    g = np.ones((x.shape[0], x.shape[1] // 2, x.shape[2] // 2, x.shape[3]), np.float32)

    def train() -> None:
        t = Tensor(x)
        with GradientTape() as tape:
            tape.watch(t)
            y = ops.max_pool(t, 2)
        tape.gradient(y, t, output_gradients=g)

    return {"fwd+bwd": train, "fwd": lambda: ops.max_pool(x, 2)}


def torch_fns(x: np.ndarray, channels_last: bool) -> dict[str, Callable[[], object]]:
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if channels_last:
        xt = xt.contiguous(memory_format=torch.channels_last)
    xt.requires_grad_(True)
    pool = torch.nn.functional.max_pool2d

    def train() -> None:
        y = pool(xt, 2)
        y.backward(torch.ones_like(y))
        xt.grad = None

    def forward() -> None:
        with torch.no_grad():
            pool(xt, 2)

    return {"fwd+bwd": train, "fwd": forward}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=0, help="0 keeps torch's default")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run this benchmark.")
        sys.exit(1)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of "
        f"{args.repeats} calls, median of {args.rounds} alternating rounds"
    )
    for shape in SHAPES:
        x = rng.normal(size=shape).astype(np.float32)
        contenders = {"engine": engine_fns(x), "torch NCHW": torch_fns(x, False)}
        if args.channels_last:
            contenders["torch NHWC"] = torch_fns(x, True)
        for phase in ("fwd+bwd", "fwd"):
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(args.rounds):
                for name, fns in contenders.items():
                    times[name].append(timed(fns[phase], args.repeats))
            ips = {name: shape[0] / statistics.median(t) for name, t in times.items()}
            cells = "  ".join(f"{name} {v:,.0f} img/s" for name, v in ips.items())
            ratios = "  ".join(
                f"ratio vs {name}: {ips['engine'] / v:.2f}"
                for name, v in ips.items()
                if name != "engine"
            )
            print(f"{'x'.join(map(str, shape[1:]))} {phase:8s} {cells}  {ratios}")


if __name__ == "__main__":
    main()
