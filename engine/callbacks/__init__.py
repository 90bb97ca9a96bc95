"""Callbacks: hooks into `fit`, `evaluate` and `predict`, as in `keras.callbacks`."""

from engine.callbacks.backup_and_restore import BackupAndRestore
from engine.callbacks.callback import Callback
from engine.callbacks.callback_list import CallbackList
from engine.callbacks.csv_logger import CSVLogger
from engine.callbacks.early_stopping import EarlyStopping
from engine.callbacks.history import History
from engine.callbacks.lambda_callback import LambdaCallback
from engine.callbacks.learning_rate_scheduler import LearningRateScheduler
from engine.callbacks.model_checkpoint import ModelCheckpoint
from engine.callbacks.monitor_callback import MonitorCallback
from engine.callbacks.progbar_logger import ProgbarLogger
from engine.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from engine.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
