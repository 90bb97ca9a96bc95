"""Callbacks in real `fit` / `evaluate` / `predict` runs on tiny models."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import engine
from engine import callbacks, layers
from engine.callbacks.progbar_logger import _format_value


def data(n: int = 32, features: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ np.arange(1, features + 1, dtype="float32"))[:, None] + 0.5
    return x, y


def dense_model(lr: float = 0.01, optimizer: str = "sgd", metrics: Any = None) -> engine.Model:
    model = engine.Sequential([layers.Dense(1, input_shape=(3,))])
    opt = engine.optimizers.SGD(lr) if optimizer == "sgd" else engine.optimizers.Adam(lr)
    model.compile(optimizer=opt, loss="mse", metrics=metrics)
    return model


class Inject(callbacks.Callback):
    """Writes a scripted value into the epoch logs, before the callbacks after it see them."""

    def __init__(self, key: str, values: list[float]) -> None:
        super().__init__()
        self.key = key
        self.values = values

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None
        logs[self.key] = self.values[epoch]


def epochs_run(values: list[float], **kwargs: Any) -> int:
    x, y = data()
    model = dense_model()
    stopper = callbacks.EarlyStopping(monitor="score", mode="min", **kwargs)
    history = model.fit(
        x,
        y,
        epochs=len(values),
        batch_size=8,
        verbose=0,
        callbacks=[Inject("score", values), stopper],
    )
    return len(history.history["loss"])


# EarlyStopping ------------------------------------------------------------------------
def test_early_stopping_waits_patience_epochs_after_the_best():
    assert epochs_run([5, 4, 4.5, 4.2, 4.1, 3, 2, 1], patience=2) == 4
    assert epochs_run([5, 4, 4.5, 4.2, 4.1, 3, 2, 1], patience=0) == 3


def test_early_stopping_min_delta_ignores_small_improvements():
    values = [1.0, 0.95, 0.9, 0.85, 0.8, 0.75]
    assert epochs_run(values, patience=1) == 6
    assert epochs_run(values, patience=1, min_delta=0.1) == 2


def test_early_stopping_baseline_must_be_beaten_to_reset_the_wait():
    flat = [0.5] * 8
    assert epochs_run(flat, patience=2) == 3
    assert epochs_run(flat, patience=2, baseline=0.1) == 2
    # Beating the baseline resets the wait as usual.
    assert epochs_run([0.05] * 8, patience=2, baseline=0.1) == 3


def test_early_stopping_start_from_epoch_skips_warm_up():
    rising = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert epochs_run(rising, patience=0) == 2
    assert epochs_run(rising, patience=0, start_from_epoch=3) == 5


def test_early_stopping_restores_exact_best_epoch_weights():
    x, y = data()
    model = dense_model(lr=0.05)
    seen: list[list[np.ndarray]] = []
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights())
    )
    values = [3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 0.1]
    stopper = callbacks.EarlyStopping(
        monitor="score", mode="min", patience=3, restore_best_weights=True, verbose=1
    )
    history = model.fit(
        x,
        y,
        epochs=7,
        batch_size=8,
        verbose=0,
        callbacks=[record, Inject("score", values), stopper],
    )
    assert len(history.history["loss"]) == 6
    assert stopper.best_epoch == 2
    assert stopper.stopped_epoch == 5
    for got, want in zip(model.get_weights(), seen[2]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.get_weights()[0], seen[-1][0])


def test_early_stopping_auto_mode_direction_from_metric():
    x, y = data()
    model = dense_model(metrics=["mae"])
    stopper = callbacks.EarlyStopping(monitor="val_mae")
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[stopper])
    assert stopper.monitor_op(1.0, 2.0)  # mae goes down

    binary = engine.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    binary.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    up = callbacks.EarlyStopping(monitor="accuracy")
    binary.fit(x, (y > 0).astype("float32"), epochs=1, verbose=0, callbacks=[up])
    assert up.monitor_op(2.0, 1.0)  # accuracy goes up

    unknown = callbacks.EarlyStopping(monitor="score")
    with pytest.raises(ValueError, match="mode='max'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[Inject("score", [1.0]), unknown])


def test_early_stopping_warns_when_monitor_is_missing():
    x, y = data()
    with pytest.warns(UserWarning, match="val_loss"):
        dense_model().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.EarlyStopping()])


# ModelCheckpoint -----------------------------------------------------------------------
def test_model_checkpoint_names_files_from_epoch_and_logs(tmp_path):
    x, y = data()
    model = dense_model()
    path = tmp_path / "ckpt" / "w-{epoch:02d}-{loss:.3f}.weights.npz"
    ckpt = callbacks.ModelCheckpoint(path, save_weights_only=True)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[ckpt])
    expected = {
        f"w-{i + 1:02d}-{loss:.3f}.weights.npz" for i, loss in enumerate(history.history["loss"])
    }
    assert set(os.listdir(tmp_path / "ckpt")) == expected
    last = sorted(expected)[-1]
    fresh = dense_model()
    fresh.load_weights(str(tmp_path / "ckpt" / last))
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_save_best_only_writes_on_improvement(tmp_path):
    x, y = data()
    model = dense_model()
    saved: list[int] = []
    values = [3.0, 2.0, 2.5, 1.0, 1.0]

    class Spy(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if os.path.exists(tmp_path / f"{epoch + 1}.weights.npz"):
                saved.append(epoch + 1)

    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "{epoch}.weights.npz"),
        monitor="score",
        save_best_only=True,
        save_weights_only=True,
        mode="min",
    )
    model.fit(x, y, epochs=5, verbose=0, callbacks=[Inject("score", values), ckpt, Spy()])
    assert saved == [1, 2, 4]
    assert ckpt.best == 1.0


def test_model_checkpoint_initial_value_threshold_blocks_worse_saves(tmp_path):
    x, y = data()
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "best.keras"),
        monitor="loss",
        save_best_only=True,
        initial_value_threshold=0.0,
    )
    dense_model().fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert not (tmp_path / "best.keras").exists()


def test_model_checkpoint_full_model_loads_back(tmp_path):
    x, y = data()
    model = dense_model(optimizer="adam")
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "model.keras"), monitor="loss", verbose=1)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    restored = engine.models.load_model(str(tmp_path / "model.keras"))
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert int(restored.optimizer.iterations.value) == int(model.optimizer.iterations.value)


def test_model_checkpoint_rejects_bad_suffixes_and_save_freq(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"\.keras"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.weights.npz"))
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="batch")


def test_model_checkpoint_int_save_freq_counts_batches_across_epochs(tmp_path):
    x, y = data(n=10)
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "{epoch}-{batch}.weights.npz"), save_weights_only=True, save_freq=3
    )
    dense_model().fit(x, y, epochs=2, batch_size=2, verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["1-3.weights.npz", "2-1.weights.npz", "2-4.weights.npz"]


def test_model_checkpoint_unknown_format_field_names_the_key(tmp_path):
    x, y = data()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))
    with pytest.raises(KeyError, match="val_acc"):
        dense_model().fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])


# ReduceLROnPlateau ---------------------------------------------------------------------
def lr_history(**kwargs: Any) -> list[float]:
    x, y = data()
    model = dense_model(lr=0.1)
    reduce = callbacks.ReduceLROnPlateau(
        monitor="score", factor=0.5, patience=2, min_lr=0.03, **kwargs
    )
    history = model.fit(x, y, epochs=8, verbose=0, callbacks=[Inject("score", [1.0] * 8), reduce])
    assert model.optimizer.learning_rate == pytest.approx(0.03, rel=1e-6)
    return history.history["learning_rate"]


def test_reduce_lr_on_plateau_after_patience_down_to_min_lr():
    assert lr_history() == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03], rel=1e-6)


def test_reduce_lr_on_plateau_cooldown_delays_next_reduction():
    got = lr_history(cooldown=2)
    assert got == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03], rel=1e-6)


def test_reduce_lr_on_plateau_keeps_rate_while_improving_and_rejects_factor():
    x, y = data()
    model = dense_model(lr=0.1)
    reduce = callbacks.ReduceLROnPlateau(monitor="score", patience=1)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[Inject("score", [4.0, 3.0, 2.0, 1.0]), reduce])
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.5)


# LearningRateScheduler -----------------------------------------------------------------
def test_learning_rate_scheduler_sets_rate_each_epoch_and_logs_it():
    x, y = data()
    model = dense_model(lr=0.1)
    in_effect: list[float] = []
    calls: list[tuple[int, float]] = []

    def schedule(epoch: int, lr: float) -> float:
        calls.append((epoch, lr))
        return 0.1 * 0.5**epoch

    watch = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: in_effect.append(model.optimizer.learning_rate)
    )
    history = model.fit(
        x, y, epochs=3, verbose=0, callbacks=[callbacks.LearningRateScheduler(schedule), watch]
    )
    assert in_effect == pytest.approx([0.1, 0.05, 0.025], rel=1e-6)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025], rel=1e-6)
    assert [c[0] for c in calls] == [0, 1, 2]
    assert [c[1] for c in calls] == pytest.approx([0.1, 0.1, 0.05], rel=1e-6)


def test_learning_rate_scheduler_rate_is_used_by_training():
    x, y = data()
    model = dense_model(lr=0.1)
    before = model.get_weights()
    frozen = callbacks.LearningRateScheduler(lambda epoch: 0.0)  # the old one-argument form
    model.fit(x, y, epochs=2, verbose=0, callbacks=[frozen])
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_learning_rate_scheduler_rejects_non_float():
    x, y = data()
    bad = callbacks.LearningRateScheduler(lambda epoch, lr: 1)
    with pytest.raises(ValueError, match="should be a float"):
        dense_model().fit(x, y, epochs=1, verbose=0, callbacks=[bad])


# CSVLogger -------------------------------------------------------------------------------
def read_csv(path: Any, sep: str = ",") -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_sorted_columns_and_appends(tmp_path):
    x, y = data()
    path = tmp_path / "logs" / "log.csv"
    model = dense_model(metrics=["mae"])
    history = model.fit(
        x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)]
    )
    rows = read_csv(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    for i, row in enumerate(rows[1:]):
        for key, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == history.history[key][i]

    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        validation_split=0.25,
        callbacks=[callbacks.CSVLogger(path, append=True)],
    )
    rows = read_csv(path)
    assert len(rows) == 5 and rows.count(rows[0]) == 1

    model.fit(
        x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)]
    )
    assert len(read_csv(path)) == 2


def test_csv_logger_separator_and_missing_validation_columns(tmp_path):
    x, y = data()
    path = tmp_path / "log.tsv"
    dense_model().fit(
        x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path, separator="\t")]
    )
    rows = read_csv(path, sep="\t")
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [r[2] for r in rows[1:]] == ["NA", "NA"]


# TerminateOnNaN ---------------------------------------------------------------------------
def test_terminate_on_nan_stops_after_the_nan_batch(capsys):
    x, y = data(n=16)
    y[9] = np.nan
    batches: list[int] = []
    count = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = dense_model().fit(
        x,
        y,
        epochs=5,
        batch_size=4,
        shuffle=False,
        verbose=0,
        callbacks=[count, callbacks.TerminateOnNaN()],
    )
    assert batches == [0, 1, 2]
    assert len(history.history["loss"]) == 1
    assert np.isnan(history.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_terminate_on_nan_with_a_diverging_learning_rate_and_raise_error():
    x, y = data()
    model = dense_model(lr=1e18)
    history = model.fit(
        x, y * 1e10, epochs=50, batch_size=4, verbose=0, callbacks=[callbacks.TerminateOnNaN()]
    )
    assert len(history.history["loss"]) < 50
    assert not np.isfinite(history.history["loss"][-1])
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        dense_model(lr=1e18).fit(
            x,
            y * 1e10,
            epochs=50,
            batch_size=4,
            verbose=0,
            callbacks=[callbacks.TerminateOnNaN(raise_error=True)],
        )


# LambdaCallback ---------------------------------------------------------------------------
def test_lambda_callback_hooks_get_the_right_arguments():
    x, y = data(n=8)
    calls: list[tuple[Any, ...]] = []

    def rec(name: str) -> Any:
        return lambda *args: calls.append((name, *args))

    cb = callbacks.LambdaCallback(
        on_epoch_begin=rec("epoch_begin"),
        on_epoch_end=rec("epoch_end"),
        on_train_begin=rec("train_begin"),
        on_train_end=rec("train_end"),
        on_train_batch_begin=rec("batch_begin"),
        on_train_batch_end=rec("batch_end"),
        on_test_begin=rec("test_begin"),
        on_test_end=rec("test_end"),
        on_predict_batch_end=rec("predict_batch_end"),
    )
    model = dense_model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[cb])
    names = [c[0] for c in calls]
    assert names == [
        "train_begin",
        *(["epoch_begin", "batch_begin", "batch_end", "batch_begin", "batch_end", "epoch_end"] * 2),
        "train_end",
    ]
    assert [c[1] for c in calls if c[0] == "epoch_begin"] == [0, 1]
    assert [c[1] for c in calls if c[0] == "batch_end"] == [0, 1, 0, 1]
    epoch_end = [c for c in calls if c[0] == "epoch_end"]
    assert set(epoch_end[0][2]) == {"loss"} and np.isfinite(epoch_end[0][2]["loss"])
    assert "loss" in next(c for c in calls if c[0] == "batch_end")[2]

    calls.clear()
    loss = model.evaluate(x, y, verbose=0, callbacks=[cb])
    assert [c[0] for c in calls] == ["test_begin", "test_end"]
    assert calls[1][1]["loss"] == pytest.approx(loss)

    calls.clear()
    model.predict(x, batch_size=4, verbose=0, callbacks=[cb])
    assert [(c[0], c[1]) for c in calls] == [("predict_batch_end", 0), ("predict_batch_end", 1)]
    assert calls[0][2]["outputs"].shape == (4, 1)


def test_validation_inside_fit_runs_the_test_hooks():
    # Keras's fit validates through evaluate with the same callbacks: on_test_* fire
    # once per validated epoch, before on_epoch_end, with the validation logs.
    x, y = data(n=12)
    calls: list[tuple[Any, ...]] = []
    cb = callbacks.LambdaCallback(
        on_test_begin=lambda logs: calls.append(("test_begin",)),
        on_test_batch_end=lambda batch, logs: calls.append(("test_batch", batch)),
        on_test_end=lambda logs: calls.append(("test_end", dict(logs))),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", dict(logs))),
    )
    model = dense_model()
    model.fit(
        x, y, epochs=4, batch_size=4, verbose=0, callbacks=[cb],
        validation_data=(x[:6], y[:6]), validation_batch_size=3, validation_freq=2,
    )  # fmt: skip
    names = [c[0] for c in calls]
    validated = ["test_begin", "test_batch", "test_batch", "test_end", "epoch_end"]
    assert names == ["epoch_end", *validated, "epoch_end", *validated]
    test_end, epoch_end = calls[4][1], calls[5][1]
    assert epoch_end["val_loss"] == pytest.approx(test_end["loss"])
    assert epoch_end["loss"] != pytest.approx(test_end["loss"])


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_epoch_finish"):
        callbacks.LambdaCallback(on_epoch_finish=print)


# BackupAndRestore ---------------------------------------------------------------------------
class Interrupt(callbacks.Callback):
    def __init__(self, at_epoch: int) -> None:
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch == self.at_epoch:
            raise RuntimeError("Interrupted!")


def noisy_model(seed: int) -> engine.Model:
    engine.utils.set_random_seed(seed)
    model = engine.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(3,)),
            layers.Dropout(0.3),
            layers.GaussianNoise(0.1, seed=7),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer=engine.optimizers.Adam(0.01), loss="mse")
    return model


def test_backup_and_restore_resumes_to_the_same_weights_as_an_uninterrupted_fit(tmp_path):
    x, y = data(n=24)
    backup_dir = tmp_path / "backup"
    fit_args = {"epochs": 6, "batch_size": 4, "verbose": 0}

    interrupted = noisy_model(seed=0)
    backup = callbacks.BackupAndRestore(backup_dir)
    with pytest.raises(RuntimeError, match="Interrupted"):
        interrupted.fit(x, y, callbacks=[backup, Interrupt(at_epoch=3)], **fit_args)
    assert os.listdir(backup_dir) == ["backup.npz"]

    # A new process: a fresh model (other initial weights, other random state).
    resumed = noisy_model(seed=123)
    resumed_epochs: list[int] = []
    record = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: resumed_epochs.append(epoch)
    )
    history = resumed.fit(x, y, callbacks=[backup, record], **fit_args)
    assert resumed_epochs == [3, 4, 5]
    assert len(history.history["loss"]) == 3
    assert not backup_dir.exists()

    reference = noisy_model(seed=0)
    reference.fit(x, y, **fit_args)
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(resumed.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_array_equal(got.value, want.value)


def test_backup_and_restore_int_save_freq_keeps_and_double_checkpoint_falls_back(tmp_path):
    x, y = data(n=16)
    backup_dir = tmp_path / "b"
    backup = callbacks.BackupAndRestore(
        backup_dir, save_freq=3, delete_checkpoint=False, double_checkpoint=True
    )
    model = noisy_model(seed=0)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[backup])
    # Batches 3 and 6 of 8 were backed up, the last inside the second epoch.
    assert sorted(os.listdir(backup_dir)) == ["backup.npz", "backup.previous.npz"]
    with np.load(backup_dir / "backup.npz") as npz:
        assert json.loads(str(npz["metadata"]))["epoch"] == 1

    (backup_dir / "backup.npz").write_bytes(b"torn write")
    started: list[int] = []
    record = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: started.append(epoch))
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[backup, record])
    assert started == [0, 1]  # the previous backup was made in epoch 0

    single = callbacks.BackupAndRestore(backup_dir)
    (backup_dir / "backup.npz").write_bytes(b"torn write")
    with pytest.raises(ValueError, match="cannot be read"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[single])


def test_backup_and_restore_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="backup_dir"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(tmp_path, save_freq="batch")
    unbuilt = engine.Sequential([layers.Dense(1)])
    unbuilt.compile(optimizer="sgd", loss="mse")
    x, y = data()
    with pytest.raises(ValueError, match="must be built"):
        unbuilt.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])


# ProgbarLogger -------------------------------------------------------------------------------
def test_progbar_verbose_1_prints_one_line_per_epoch(capsys):
    x, y = data()
    model = dense_model(metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2  3/3 ━━━━━━━━━━━━━━━━━━━━ ")
    assert lines[1].startswith("Epoch 2/2")
    for name in ("- loss: ", "- mae: ", "- val_loss: ", "- val_mae: "):
        assert name in lines[0]
    assert lines[0].index("loss:") < lines[0].index("val_loss:")


def test_progbar_verbose_2_has_no_bar_and_verbose_0_prints_nothing(capsys):
    x, y = data()
    model = dense_model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2  4/4 - " in out and "- loss: " in out
    assert "━" not in out
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_evaluate_and_predict(capsys):
    x, y = data()
    model = dense_model(metrics=["mae"])
    model.fit(x, y, epochs=1, verbose=1)
    assert capsys.readouterr().out.startswith("1/1 ")  # one epoch: no "Epoch" prefix
    model.evaluate(x, y, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("4/4 ━") and "- loss: " in out and "- mae: " in out
    model.predict(x, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("2/2 ━") and "loss" not in out


def test_progbar_live_bar_on_a_terminal_is_throttled():
    x, y = data(n=400)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=150)
    model = dense_model()
    start = time.monotonic()
    model.fit(
        x,
        y,
        epochs=2,
        batch_size=2,
        verbose=1,
        callbacks=[callbacks.ProgbarLogger(console=console)],
    )
    elapsed = time.monotonic() - start
    out = buffer.getvalue()
    redraws = out.count("ETA ")
    assert 2 <= redraws <= elapsed / 0.1 + 4  # at least the first batch of each epoch
    assert out.count("\n") == 2
    assert "200/200" in out and "/step" in out


def test_progbar_formats_small_values_in_scientific_notation():
    assert _format_value(0.5) == "0.5000"
    assert _format_value(1e-5) == "1.0000e-05"
    assert _format_value(np.float32(2.0)) == "2.0000"
    assert _format_value("text") == "text"


# Configs and exports -------------------------------------------------------------------------
def named_schedule(epoch: int, lr: float) -> float:
    return lr


@pytest.mark.parametrize(
    "callback",
    [
        callbacks.EarlyStopping(monitor="loss", min_delta=0.1, patience=3, baseline=1.0),
        callbacks.ModelCheckpoint("a/{epoch}.weights.npz", save_weights_only=True, save_freq=5),
        callbacks.ReduceLROnPlateau(factor=0.5, cooldown=2, min_lr=1e-4),
        callbacks.CSVLogger("log.csv", separator=";", append=True),
        callbacks.TerminateOnNaN(raise_error=True),
        callbacks.BackupAndRestore("b", save_freq=10, double_checkpoint=True),
        callbacks.ProgbarLogger(),
        callbacks.LearningRateScheduler(named_schedule, verbose=1),
        callbacks.LambdaCallback(on_epoch_end=named_schedule),
    ],
    ids=lambda cb: type(cb).__name__,
)
def test_get_config_round_trips(callback):
    config = callback.get_config()
    json.dumps(config)
    custom = {"named_schedule": named_schedule}
    if isinstance(callback, (callbacks.LearningRateScheduler, callbacks.LambdaCallback)):
        clone = type(callback).from_config(config, custom_objects=custom)
    else:
        clone = type(callback).from_config(config)
    assert clone.get_config() == config


def test_package_exports_every_callback():
    for name in (
        "Callback",
        "CallbackList",
        "History",
        "ProgbarLogger",
        "EarlyStopping",
        "ModelCheckpoint",
        "ReduceLROnPlateau",
        "LearningRateScheduler",
        "CSVLogger",
        "TerminateOnNaN",
        "LambdaCallback",
        "BackupAndRestore",
    ):
        assert name in callbacks.__all__
        assert issubclass(getattr(callbacks, name), callbacks.Callback)
