"""The classic Keras CIFAR-10 CNN with `keras` replaced by `engine`.

Runs on the built-in, offline `shapes` data by default (same shapes and dtypes
as cifar10), or on cifar10 when its archive is in the dataset cache:

    python examples/cifar10_cnn.py                 # shapes, 10 epochs
    python examples/cifar10_cnn.py --dataset cifar10
"""

from __future__ import annotations

import argparse

from engine.datasets import cifar10, shapes
from engine.layers import Conv2D, Dense, Flatten, MaxPooling2D
from engine.models import Sequential
from engine.optimizers import Adam
from engine.utils import to_categorical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("shapes", "cifar10"), default="shapes")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    loader = shapes if args.dataset == "shapes" else cifar10
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    y_train = to_categorical(y_train, 10)
    y_test = to_categorical(y_test, 10)

    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.compile(
        optimizer=Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.2%}")


if __name__ == "__main__":
    main()
