"""Saving and loading whole models (`.keras` zips) and weights (`.weights.npz`).

A `.keras` file is a zip holding `config.json` (architecture and compile
config), `metadata.json` and `model.weights.npz` (plus `optimizer.npz` when
the optimizer has state). Arrays are stored with NumPy's `.npz` format and
loaded with `allow_pickle=False`: loading a file never runs code from it.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from engine.saving.serialization import custom_object_scope, serialize_keras_object
from engine.utils.file_utils import atomic_write

_FORMAT_VERSION = "1"


def _check_suffix(filepath: str, suffix: str, what: str) -> str:
    path = os.fspath(filepath)
    if not path.endswith(suffix):
        raise ValueError(f"{what} must be saved to a file ending in '{suffix}', got {path!r}.")
    return path


def _arrays_to_npz(arrays: list[np.ndarray], names: list[str]) -> bytes:
    buffer = io.BytesIO()
    payload = {f"arr_{i:05d}": np.asarray(a) for i, a in enumerate(arrays)}
    payload["names"] = np.array(names, dtype=np.str_)
    np.savez(buffer, **payload)
    return buffer.getvalue()


def _npz_to_arrays(data: bytes) -> tuple[list[np.ndarray], list[str]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        keys = sorted(k for k in npz.files if k.startswith("arr_"))
        arrays = [npz[k] for k in keys]
        names = [str(n) for n in npz["names"]] if "names" in npz.files else [""] * len(arrays)
    return arrays, names


def _model_config(model: Any) -> dict[str, Any]:
    config = serialize_keras_object(model)
    build_shape = getattr(model, "_build_input_shape", None)
    if build_shape is not None:
        config["build_config"] = {"input_shape": _jsonable_shape(build_shape)}
    compile_config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if compile_config is not None:
        config["compile_config"] = compile_config
    return config


def _jsonable_shape(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {k: _jsonable_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else int(shape)


def save_model(model: Any, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
    """Save a model to a `.keras` zip: architecture, weights, compile config, optimizer state.

    Args:
        model: the model to save.
        filepath: a path ending in `.keras`.
        overwrite: replace an existing file (else FileExistsError).

    Example:
        >>> model.save("model.keras")
        >>> restored = engine.models.load_model("model.keras")
    """
    unknown = set(kwargs) - {"zipped", "include_optimizer", "save_format"}
    if unknown:
        raise TypeError(f"save() got unexpected keyword argument(s): {', '.join(sorted(unknown))}.")
    path = _check_suffix(filepath, ".keras", "A model")
    try:
        config = _model_config(model)
    except ValueError as err:
        raise ValueError(f"Cannot save model {model.name!r}: {err}") from err
    from engine import __version__

    metadata = {
        "keras_version": __version__,
        "engine": "numpy",
        "format_version": _FORMAT_VERSION,
        "date_saved": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    weights = model.weights
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr(
            "model.weights.npz",
            _arrays_to_npz([w.value for w in weights], [w.path for w in weights]),
        )
        optimizer = getattr(model, "optimizer", None)
        if kwargs.get("include_optimizer", True) and optimizer is not None and optimizer.variables:
            opt_vars = optimizer.variables
            zf.writestr(
                "optimizer.npz",
                _arrays_to_npz([v.value for v in opt_vars], [v.path for v in opt_vars]),
            )
    atomic_write(path, buffer.getvalue(), overwrite=overwrite)


def _read_zip(path: str) -> dict[str, bytes]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a .keras model file (not a zip archive).")
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _assign_all(
    variables: list[Any], arrays: list[np.ndarray], what: str, skip_mismatch: bool = False
) -> None:
    if len(variables) != len(arrays):
        if skip_mismatch:
            return
        raise ValueError(
            f"The file holds {len(arrays)} {what} arrays but the model has {len(variables)}; "
            "it was saved from a different architecture."
        )
    for var, arr in zip(variables, arrays):
        if var.shape != arr.shape:
            if skip_mismatch:
                continue
            raise ValueError(
                f"{what.capitalize()} {var.path!r} has shape {var.shape} but the file holds "
                f"shape {arr.shape}; it was saved from a different architecture."
            )
        var.assign(arr.astype(var.dtype, copy=False))


def model_from_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild an (unweighted) model from `serialize_keras_object(model)` output."""
    from engine.layers import deserialize

    with custom_object_scope(custom_objects):
        model = deserialize(config, custom_objects=custom_objects)
        build_config = config.get("build_config")
        if build_config and not model.built:
            model.build(_tuple_shape(build_config["input_shape"]))
    return model


def _tuple_shape(shape: Any) -> Any:
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [tuple(s) for s in shape]
    return tuple(shape)


def load_model(
    filepath: str,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """Load a model saved with `model.save`: architecture, weights, compile and optimizer state.

    Args:
        filepath: a `.keras` file.
        custom_objects: classes and functions of your own the model uses, by name.
        compile: re-compile with the saved compile config (so training resumes exactly).
        safe_mode: accepted for Keras compatibility; loading never unpickles anything.

    Example:
        >>> model = engine.models.load_model("model.keras")
    """
    path = _check_suffix(filepath, ".keras", "A model")
    files = _read_zip(path)
    if "config.json" not in files or "model.weights.npz" not in files:
        raise ValueError(
            f"{path!r} is missing config.json or model.weights.npz; it is not a saved model."
        )
    config = json.loads(files["config.json"])
    model = model_from_config(config, custom_objects)
    arrays, _ = _npz_to_arrays(files["model.weights.npz"])
    _assign_all(model.weights, arrays, "weight")
    compile_config = config.get("compile_config")
    if compile and compile_config is not None:
        with custom_object_scope(custom_objects):
            model.compile_from_config(compile_config)
        if "optimizer.npz" in files:
            opt_arrays, _ = _npz_to_arrays(files["optimizer.npz"])
            model.optimizer.build(model.trainable_weights)
            _assign_all(model.optimizer.variables, opt_arrays, "optimizer variable")
    return model


def save_weights(model: Any, filepath: str, overwrite: bool = True) -> None:
    """Save the model's weights to a `.weights.npz` file."""
    path = _check_suffix(filepath, ".weights.npz", "Weights")
    weights = model.weights
    atomic_write(
        path,
        _arrays_to_npz([w.value for w in weights], [w.path for w in weights]),
        overwrite=overwrite,
    )


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False) -> None:
    """Load weights from a `.weights.npz` file or a `.keras` model file."""
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        data = _read_zip(path).get("model.weights.npz")
        if data is None:
            raise ValueError(f"{path!r} holds no weights.")
    elif path.endswith(".weights.npz"):
        if not os.path.exists(path):
            raise FileNotFoundError(f"No weights file at {path!r}.")
        with open(path, "rb") as fh:
            data = fh.read()
    else:
        raise ValueError(f"Weights load from a '.weights.npz' or '.keras' file, got {path!r}.")
    if not model.built:
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to load into; "
            "call it on data or build it first."
        )
    arrays, _ = _npz_to_arrays(data)
    _assign_all(model.weights, arrays, "weight", skip_mismatch=skip_mismatch)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model from `model.to_json()` output (fresh weights)."""
    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model: Any, input_tensors: Any = None, clone_function: Any = None) -> Any:
    """A new model with the same architecture and freshly initialized weights."""
    if input_tensors is not None or clone_function is not None:
        raise ValueError(
            "clone_model here supports cloning the whole architecture only; build the new "
            "graph with the functional API to change inputs or layers."
        )
    return model_from_config(serialize_keras_object(model))
