"""Benchmark: peak memory of one 50,000-image epoch of the classic Keras CIFAR-10 CNN.

Issue #3's goal: the process's peak resident memory stays within the float32
dataset's size plus 400 MB. The engine trains alone here (no PyTorch in the
process, whose libraries alone take hundreds of MB) on 32x32x3 float32 images,
batch 64, Adam, categorical crossentropy, and the script prints the peak
resident memory, the dataset's size and the headroom left under the goal.
The images are random (memory does not depend on their content, and drawing
50,000 `shapes` images would take longer than the epoch).

Run: python tests/benchmarks/bench_cnn_memory.py [--samples 50000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from bench_cnn import engine_model

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 32, 32, 3), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)]
    data_mb = (x.nbytes + y.nbytes) / 2**20
    model = engine_model()
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    goal = data_mb + 400
    rate = args.samples / seconds
    print(f"{args.samples} images, one epoch in {seconds:.1f} s ({rate:.0f} images/s)")
    print(f"process before the data: {before:.0f} MB; float32 dataset: {data_mb:.0f} MB")
    print(f"peak resident memory: {peak:.0f} MB; goal <= {goal:.0f} MB (dataset + 400 MB)")
    print("within goal" if peak <= goal else f"OVER the goal by {peak - goal:.0f} MB")
    return 0 if peak <= goal else 1


if __name__ == "__main__":
    sys.exit(main())
