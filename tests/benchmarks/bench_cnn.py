"""Benchmark: the classic Keras CIFAR-10 CNN, engine vs PyTorch, batch 64, 32x32x3, float32.

Conv2D(32,3,relu) -> MaxPool(2) -> Conv2D(64,3,relu) -> MaxPool(2) -> Conv2D(64,3,relu)
-> Flatten -> Dense(64,relu) -> Dense(10,softmax), Adam(1e-3), categorical crossentropy.
Both frameworks train on the same data in one process, alternating epoch by epoch,
then predict alternately; the script prints images/s for each and the ratios, and
the peak resident memory of the process.

Each timed run starts after a short pause (`--pause`, 0.5 s): both frameworks'
thread pools (PyTorch's OpenMP, NumPy's OpenBLAS) keep spinning for a while
after a call returns, and without the pause each framework's run would start
while the other's threads still hold a core (measured: both run 15-25%
slower). `--pause 0` gives the back-to-back figures.

Run: python tests/benchmarks/bench_cnn.py [--samples 2048] [--rounds 3] [--pause 0.5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import numpy as np


def make_data(samples: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        from engine.datasets import shapes

        (x, y), _ = shapes.load_data(n_train=samples, n_test=10, seed=0)
        x = x.astype(np.float32) / 255.0
        y = y.reshape(-1).astype(np.int64)
    except (ImportError, AttributeError):
        rng = np.random.default_rng(0)
        x = rng.random((samples, 32, 32, 3), dtype=np.float32)
        y = rng.integers(0, 10, samples)
    return x, y


def engine_model():
    import engine
    from engine import layers

    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(learning_rate=0.001),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def torch_model():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds before each run")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run this benchmark.")
        return 1
    from machine import describe

    x, y = make_data(args.samples)
    y_onehot = np.eye(10, dtype=np.float32)[y]
    emodel = engine_model()
    tmodel = torch_model()
    opt = torch.optim.Adam(tmodel.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y)

    def engine_epoch() -> None:
        emodel.fit(x, y_onehot, batch_size=args.batch, epochs=1, verbose=0)

    def torch_epoch() -> None:
        tmodel.train()
        perm = torch.randperm(len(xt))
        for start in range(0, len(xt), args.batch):
            idx = perm[start : start + args.batch]
            opt.zero_grad(set_to_none=True)
            out = tmodel(xt[idx])
            loss = loss_fn(out, yt[idx])
            (out.argmax(1) == yt[idx]).float().mean()
            loss.backward()
            opt.step()

    def engine_predict() -> None:
        emodel.predict(x, batch_size=args.batch, verbose=0)

    def torch_predict() -> None:
        tmodel.eval()
        with torch.no_grad():
            for start in range(0, len(xt), args.batch):
                torch.softmax(tmodel(xt[start : start + args.batch]), 1)

    for fn in (engine_epoch, torch_epoch, engine_predict, torch_predict):
        fn()  # warm-up
    results: dict[str, list[float]] = {
        k: [] for k in ("engine fit", "torch fit", "engine predict", "torch predict")
    }
    for _ in range(args.rounds):
        for name, fn in (
            ("engine fit", engine_epoch),
            ("torch fit", torch_epoch),
            ("engine predict", engine_predict),
            ("torch predict", torch_predict),
        ):
            time.sleep(args.pause)
            start = time.perf_counter()
            fn()
            results[name].append(time.perf_counter() - start)
    ips = {k: len(x) / statistics.median(v) for k, v in results.items()}
    # The engine fixes malloc's thresholds for the process: the twin runs with them too.
    print(describe())
    print(
        f"{len(x)} images 32x32x3, batch {args.batch}, {args.rounds} rounds, pause {args.pause} s, "
        f"torch threads {torch.get_num_threads()}"
    )
    for name, value in ips.items():
        print(f"{name:>15}: {value:8.0f} images/s")
    print(f"ratio fit engine/torch: {ips['engine fit'] / ips['torch fit']:.2f}")
    print(f"ratio predict engine/torch: {ips['engine predict'] / ips['torch predict']:.2f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB (data {x.nbytes / 2**20:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
