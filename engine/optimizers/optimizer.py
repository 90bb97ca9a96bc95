"""The optimizer base class: state variables, clipping, weight decay, EMA and the update loop.

Subclasses create their slot variables in `build(var_list)` and update one
variable in `update_step(gradient, variable, learning_rate)`, exactly as a
Keras 3 optimizer does. Built-in optimizers update `variable.value` in place
with `out=` NumPy calls and reuse scratch buffers from `_scratch`, so a step
allocates nothing in the hot path and float32 state stays float32.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.naming import to_snake_case, unique_name
from engine.backend.tensor import Variable, unwrap
from engine.ops.batch_parallel import map_chunks, parallel_scope
from engine.optimizers import clipping
from engine.optimizers import schedules as schedules_module
from engine.optimizers.schedules.learning_rate_schedule import LearningRateSchedule
from engine.saving.serialization import serialize_keras_object

# Updates of at least this many weights run in parallel_scope (see _backend_update_step).
_THREADED_UPDATE_SIZE = 1_000_000

LearningRate = float | LearningRateSchedule | Callable[..., Any]


def _user_stacklevel() -> int:
    """The `stacklevel` that points a warning at the first caller outside this package."""
    frame = inspect.currentframe()
    level = 0
    while frame is not None and frame.f_globals.get("__name__", "").startswith("engine.optimizers"):
        frame = frame.f_back
        level += 1
    # `warnings.warn` counts its own caller as level 1; this helper's frame is not counted.
    return max(level, 1)


def _as_float(value: Any, what: str) -> float:
    value = unwrap(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.number, np.ndarray)
    ):
        raise TypeError(
            f"`{what}` must be a number, a LearningRateSchedule or a callable, "
            f"got {type(value).__name__} {value!r}."
        )
    if np.ndim(value) != 0:
        raise ValueError(f"`{what}` must be a scalar, got an array of shape {np.shape(value)}.")
    return float(value)


class Optimizer:
    """Base class of all optimizers, with Keras 3's arguments and behaviour.

    Each `apply` clips the gradients, applies decoupled weight decay
    (`var -= var * weight_decay * learning_rate`), calls `update_step` for every
    variable that has a gradient, applies variable constraints, updates the
    exponential moving average of the weights, and increments `iterations`.

    State lives in non-trainable `Variable`s listed by `variables` in a fixed
    order: `iterations`, the learning rate (unless it is a schedule), then what
    `build` creates (per-variable EMA averages and gradient accumulators
    interleaved, then each optimizer's slots, one kind after the other, each in
    the order of the variables given to `build`). This is the order Keras saves.

    Args:
        learning_rate: a float, a `LearningRateSchedule`, or a callable returning the rate
            (called with the step if it takes an argument, otherwise with none).
        weight_decay: if set, decoupled weight decay applied before each update.
        clipnorm: if set, each gradient is rescaled so that its norm is at most this.
        clipvalue: if set, each gradient element is clipped to `[-clipvalue, clipvalue]`.
        global_clipnorm: if set, all gradients are rescaled together so that their global
            norm is at most this. Only one of the three clipping arguments may be set.
        use_ema: keep an exponential moving average of the weights.
        ema_momentum: the EMA momentum: `average = m * average + (1 - m) * value`.
        ema_overwrite_frequency: overwrite the weights with their average every this many
            steps; None leaves that to `finalize_variable_values` (which `fit` calls).
        loss_scale_factor: gradients are divided by it (see `scale_loss`).
        gradient_accumulation_steps: if an int >= 2, gradients are summed and the weights
            updated with their mean once every this many calls to `apply`.
        name: the optimizer's name, used as a prefix of its variables' paths.
        **kwargs: `lr` is accepted as a deprecated alias of `learning_rate`; `decay` is
            accepted and ignored with a warning, as in Keras 3.

    Example:
        >>> w = engine.backend.Variable(np.ones(3, "float32"))
        >>> optimizer = engine.optimizers.SGD(learning_rate=0.1)
        >>> optimizer.apply_gradients([(np.ones(3, "float32"), w)])
        >>> w.numpy()
        array([0.9, 0.9, 0.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate: LearningRate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        cls_name = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(
                f"{cls_name}: the `lr` argument is deprecated; use `learning_rate` instead.",
                DeprecationWarning,
                stacklevel=_user_stacklevel(),
            )
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                f"{cls_name}: the `decay` argument is no longer supported and is ignored; "
                "use a learning rate schedule from engine.optimizers.schedules instead.",
                stacklevel=_user_stacklevel(),
            )
        if kwargs:
            names = ", ".join(repr(k) for k in kwargs)
            raise TypeError(
                f"{cls_name} got unexpected keyword argument(s) {names}; check the spelling "
                "against the optimizer's documented arguments."
            )
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set, got "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}."
            )
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"`ema_momentum` must be in [0, 1], got {ema_momentum}.")
            if ema_overwrite_frequency is not None and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None, got "
                    f"{ema_overwrite_frequency!r}."
                )
        if gradient_accumulation_steps is not None and (
            not isinstance(gradient_accumulation_steps, int) or gradient_accumulation_steps < 2
        ):
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2 or None, got "
                f"{gradient_accumulation_steps!r}."
            )

        self.name = name if name is not None else unique_name(to_snake_case(cls_name))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps

        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._trainable_variables_indices: dict[int, int] = {}
        self._model_variables_moving_average: list[Variable] = []
        self._accumulated_gradients: list[Variable] = []
        self._scratch_buffers: dict[tuple[str, int], np.ndarray] = {}
        self._exclude_from_weight_decay: set[int] = set()
        self._exclude_from_weight_decay_pattern: re.Pattern[str] | None = None
        self._exclude_from_weight_decay_cache: dict[int, bool] = {}

        self._iterations = self.add_variable(
            (), initializer="zeros", dtype="int64", name="iteration"
        )
        self._learning_rate: Variable | LearningRateSchedule | Callable[..., Any]
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            lr = _as_float(learning_rate, "learning_rate")
            self._learning_rate = self.add_variable((), initializer=lr, name="learning_rate")

    # State ------------------------------------------------------------------
    @property
    def iterations(self) -> Variable:
        """The number of `apply` calls so far, an int64 non-trainable Variable."""
        return self._iterations

    @property
    def variables(self) -> list[Variable]:
        """All state variables, in the order `save_own_variables` stores them."""
        return list(self._variables)

    def add_variable(
        self,
        shape: Sequence[int],
        initializer: str | float | Callable[..., Any] = "zeros",
        dtype: Any = None,
        aggregation: str = "mean",
        name: str | None = None,
    ) -> Variable:
        """Create and track a non-trainable state variable.

        Args:
            shape: the variable's shape.
            initializer: `"zeros"`, `"ones"`, a number, or a callable `(shape, dtype) -> array`.
            dtype: defaults to `floatx()`.
            aggregation: accepted for Keras compatibility; there is one replica here.
            name: the short name; the path is `"<optimizer name>/<name>"`.
        """
        del aggregation  # Only distributed backends aggregate optimizer state.
        dtype = np.dtype(dtype or floatx())
        shape = tuple(shape)
        if isinstance(initializer, str):
            fills = {"zeros": 0, "ones": 1}
            if initializer not in fills:
                raise ValueError(
                    f"Unknown optimizer variable initializer {initializer!r}; use 'zeros', "
                    "'ones', a number or a callable (shape, dtype) -> array."
                )
            initializer = fills[initializer]
        if not callable(initializer):
            initializer = np.full(shape, initializer, dtype=dtype)
        variable = Variable(
            initializer, shape=shape, dtype=dtype, trainable=False, name=name or "var"
        )
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(
        self,
        reference_variable: Variable,
        name: str | None = None,
        initializer: str | float | Callable[..., Any] = "zeros",
    ) -> Variable:
        """Create a state variable with the shape and dtype of a model variable.

        Its name is the reference's path with `/` replaced by `_`, then `_<name>`,
        e.g. `"dense_kernel_momentum"`, as in Keras.
        """
        prefix = str(getattr(reference_variable, "path", reference_variable.name))
        return self.add_variable(
            reference_variable.shape,
            initializer=initializer,
            dtype=reference_variable.dtype,
            name=f"{prefix.replace('/', '_')}_{name or 'var'}",
        )

    def add_optimizer_variables(
        self,
        trainable_variables: Sequence[Variable],
        name: str | Sequence[str],
        initializer: str | float | Callable[..., Any] = "zeros",
    ) -> list[Variable] | tuple[list[Variable], ...]:
        """Create one slot per model variable (or one per name per model variable).

        With several names the slots are created interleaved, variable by variable,
        and a tuple of lists is returned, one list per name.
        """
        names = [name] if isinstance(name, str) else list(name)
        slots: tuple[list[Variable], ...] = tuple([] for _ in names)
        for variable in trainable_variables:
            for slot_list, slot_name in zip(slots, names):
                slot_list.append(self.add_variable_from_reference(variable, slot_name, initializer))
        return slots[0] if isinstance(name, str) else slots

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create the state for `var_list`; `apply` calls it on first use.

        Subclasses create their slots after calling `super().build(var_list)`.
        """
        var_list = list(var_list)
        for i, variable in enumerate(var_list):
            if not isinstance(variable, Variable):
                raise TypeError(
                    f"{type(self).__name__} can only update engine Variables, got "
                    f"{type(variable).__name__} at position {i}."
                )
            self._trainable_variables_indices[id(variable)] = i
            if self.use_ema:
                self._model_variables_moving_average.append(
                    self.add_variable_from_reference(variable, "average")
                )
            if self.gradient_accumulation_steps:
                self._accumulated_gradients.append(
                    self.add_variable_from_reference(variable, "gradient_accumulator")
                )
        self._trainable_variables = var_list
        self.built = True

    def assign(self, variable: Variable, value: Any) -> None:
        """Set `variable` to `value` in place (for `update_step` of custom optimizers)."""
        variable.assign(value)

    def assign_add(self, variable: Variable, value: Any) -> None:
        """Add `value` to `variable` in place."""
        variable.assign_add(value)

    def assign_sub(self, variable: Variable, value: Any) -> None:
        """Subtract `value` from `variable` in place."""
        variable.assign_sub(value)

    def _get_variable_index(self, variable: Variable) -> int:
        return self._trainable_variables_indices[id(variable)]

    def _update_count(self) -> int:
        """How many updates were applied before the current one (Keras's `iterations`).

        With gradient accumulation, only every `gradient_accumulation_steps`-th call
        to `apply` updates the weights, and bias corrections count those.
        """
        count = int(self._iterations.value)
        if self.gradient_accumulation_steps:
            count //= self.gradient_accumulation_steps
        return count

    @staticmethod
    def _in_blocks(fn: Callable[..., None], *arrays: np.ndarray, passes: int = 10) -> None:
        """Call `fn(*parts)` on matching blocks of same-sized arrays that it updates in place.

        The blocks are cache-sized slices of the flattened arrays; inside a
        `parallel_scope` (a `fit` step) they spread over the engine's threads,
        which halves an element-wise update of a large variable, such as an
        embedding table, on two cores. Arrays that are not all C-contiguous get
        one call on the whole arrays.

        Args:
            fn: the update, written for any same-shaped slices of the arrays.
            *arrays: the variable, its slots, the gradient and a scratch array.
            passes: element-wise passes `fn` makes (sizes the work for threading).
        """
        if not all(a.flags.c_contiguous for a in arrays):
            fn(*arrays)
            return
        flat = [a.reshape(-1) for a in arrays]
        map_chunks(
            lambda start, stop: fn(*(f[start:stop] for f in flat)),
            flat[0].size,
            sum(a.itemsize for a in arrays),
            8.0 * passes * flat[0].size,
        )

    def _scratch(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A reusable work array shaped like `like`; `slot` tells concurrent buffers apart."""
        return self._work(like.size, like.dtype, slot).reshape(like.shape)

    def _work(self, size: int, dtype: np.dtype, slot: int = 0) -> np.ndarray:
        """A reusable 1-D work array of `size` elements; `slot` tells concurrent buffers apart."""
        key = (dtype.str, slot)
        buffer = self._scratch_buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, dtype=dtype)
            self._scratch_buffers[key] = buffer
        return buffer[:size]

    # Learning rate ------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule is evaluated at `iterations`).

        Setting a float changes the rate in place (as `ReduceLROnPlateau` does);
        setting a schedule or a callable replaces it.
        """
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return float(lr.value)
        if isinstance(lr, LearningRateSchedule):
            return _as_float(lr(self._iterations), "learning_rate")
        if self._callable_takes_step(lr):
            return _as_float(lr(self._iterations), "learning_rate")
        return _as_float(lr(), "learning_rate")

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        previous = self._learning_rate
        if isinstance(value, LearningRateSchedule) or callable(value):
            self._learning_rate = value
            if isinstance(previous, Variable):
                self._variables.remove(previous)
            return
        if not isinstance(previous, Variable):
            raise TypeError(
                f"{type(self).__name__} was created with a learning rate schedule or callable, "
                "so its learning rate cannot be set to a number; create the optimizer with a "
                "float `learning_rate` to make it settable."
            )
        previous.assign(np.asarray(_as_float(value, "learning_rate"), dtype=previous.dtype))

    @staticmethod
    def _callable_takes_step(fn: Callable[..., Any]) -> bool:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return any(
            p.kind in positional or p.kind is inspect.Parameter.VAR_POSITIONAL for p in params
        )

    # Applying gradients -------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Apply `(gradient, variable)` pairs; returns `iterations` like tf.keras."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(
        self, grads: Sequence[Any], trainable_variables: Sequence[Variable] | None = None
    ) -> None:
        """Update variables from their gradients.

        Args:
            grads: one gradient (ndarray or Tensor) per variable; None skips that variable.
            trainable_variables: the variables, in the order of `grads`. May be omitted
                once the optimizer is built: the variables it was built with are used.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `trainable_variables`, the optimizer must "
                    "already be built; call `optimizer.build(trainable_variables)` first."
                )
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
            self._check_variables_are_known(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Got {len(grads)} gradients for {len(variables)} variables; pass exactly one "
                "gradient (or None) per variable."
            )
        grads, variables = self._filter_empty_gradients(grads, variables)
        grads = [self._prepare_gradient(g, v) for g, v in zip(grads, variables)]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]

        self._backend_apply_gradients(grads, variables)
        for variable in variables:
            if variable.constraint is not None:
                variable.value[...] = unwrap(variable.constraint(variable.value))
        self._iterations.value += 1

    def _check_variables_are_known(self, variables: Sequence[Variable]) -> None:
        for variable in variables:
            if id(variable) not in self._trainable_variables_indices:
                raise ValueError(
                    f"Unknown variable {getattr(variable, 'path', variable)!r}: this optimizer was "
                    "built for other variables; create a new optimizer for a new set of variables."
                )

    @staticmethod
    def _filter_empty_gradients(
        grads: list[Any], variables: list[Variable]
    ) -> tuple[list[Any], list[Variable]]:
        if all(g is not None for g in grads):
            return grads, variables
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(
                "No gradients provided for any variable; check that the loss depends on the "
                "trainable variables."
            )
        missing = [v.path for g, v in zip(grads, variables) if g is None]
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
            "`model.compile()`, did you forget to provide a `loss` argument?",
            stacklevel=_user_stacklevel(),
        )
        return [g for g, _ in kept], [v for _, v in kept]

    @staticmethod
    def _prepare_gradient(grad: Any, variable: Variable) -> np.ndarray:
        grad = unwrap(grad)
        value = variable.value
        if type(grad) is not np.ndarray or grad.dtype != value.dtype:
            grad = np.asarray(grad, dtype=value.dtype)
        if grad.shape != value.shape:
            raise ValueError(
                f"Gradient of shape {grad.shape} does not match variable {variable.path!r} of "
                f"shape {value.shape}."
            )
        return grad

    def _backend_apply_gradients(self, grads: list[np.ndarray], variables: list[Variable]) -> None:
        steps = self.gradient_accumulation_steps
        if steps:
            accumulators = [
                self._accumulated_gradients[self._get_variable_index(v)] for v in variables
            ]
            if (int(self._iterations.value) + 1) % steps == 0:
                grads = [(g + a.value) / steps for g, a in zip(grads, accumulators)]
                self._clip_decay_and_update(grads, variables)
                for accumulator in self._accumulated_gradients:
                    accumulator.value[...] = 0
            else:
                for g, accumulator in zip(grads, accumulators):
                    accumulator.value += g
        else:
            self._clip_decay_and_update(grads, variables)

        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            frequency = self.ema_overwrite_frequency
            if frequency and (self._update_count() + 1) % frequency == 0:
                self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _clip_decay_and_update(self, grads: list[np.ndarray], variables: list[Variable]) -> None:
        grads = self._clip_gradients(grads)
        learning_rate = self.learning_rate
        self._apply_weight_decay(variables, learning_rate)
        self._backend_update_step(grads, variables, learning_rate)

    def _backend_update_step(
        self, grads: list[np.ndarray], variables: list[Variable], learning_rate: float
    ) -> None:
        # The update is element-wise work: when it is large (an embedding table's
        # Adam update took 10 ms of an LSTM step on one core) it runs in a
        # parallel_scope, so `_in_blocks` spreads it over the engine's threads,
        # whatever the model and whoever calls `apply`. Measured: the LSTM
        # benchmark's step 83.7 -> 77.0 ms; a 235,000-weight MLP's 4.4 -> 5.4 ms
        # when it did so too, hence the threshold.
        large = sum(g.size for g in grads) >= _THREADED_UPDATE_SIZE
        with parallel_scope() if large else contextlib.nullcontext():
            for grad, variable in zip(grads, variables):
                self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        """Update one variable (and its slots) in place; every optimizer overrides it.

        Args:
            gradient: the (clipped) gradient, same shape and dtype as the variable.
            variable: the model variable to update.
            learning_rate: the current learning rate.
        """
        raise TypeError(
            f"{type(self).__name__} does not define update_step(gradient, variable, "
            "learning_rate); an Optimizer subclass must implement it."
        )

    def _clip_gradients(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm and self.clipnorm > 0:
            return clipping.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clipping.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return clipping.clip_by_value(grads, self.clipvalue)
        return grads

    # Weight decay ---------------------------------------------------------------
    def exclude_from_weight_decay(
        self, var_list: Iterable[Variable] | None = None, var_names: Iterable[str] | None = None
    ) -> None:
        """Exclude variables from weight decay, usually biases and normalization scales.

        Args:
            var_list: variables to exclude.
            var_names: substrings (regular expressions); a variable whose name contains
                any of them is excluded, e.g. `["bias"]`.
        """
        self._exclude_from_weight_decay = {id(v) for v in var_list or ()}
        names = sorted(set(var_names or ()))
        self._exclude_from_weight_decay_pattern = re.compile("|".join(names)) if names else None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable: Variable) -> bool:
        key = id(variable)
        cached = self._exclude_from_weight_decay_cache.get(key)
        if cached is None:
            pattern = self._exclude_from_weight_decay_pattern
            cached = key not in self._exclude_from_weight_decay and (
                pattern is None or pattern.search(variable.name) is None
            )
            self._exclude_from_weight_decay_cache[key] = cached
        return cached

    def _apply_weight_decay(self, variables: list[Variable], learning_rate: float) -> None:
        if self.weight_decay is None:
            return
        factor = self.weight_decay * learning_rate
        for variable in variables:
            if self._use_weight_decay(variable):
                value = variable.value
                decay = np.multiply(value, factor, out=self._scratch(value))
                value -= decay

    # Exponential moving average -------------------------------------------------------
    def _update_model_variables_moving_average(self, variables: list[Variable]) -> None:
        # The first update copies the weights: an average of zeros would bias it for long.
        momentum = self.ema_momentum if self._update_count() != 0 else 0.0
        for variable, average in zip(variables, self._model_variables_moving_average):
            avg = average.value
            avg *= momentum
            avg += np.multiply(variable.value, 1.0 - momentum, out=self._scratch(avg))

    def _overwrite_model_variables_with_average_value(self, variables: Sequence[Variable]) -> None:
        if len(variables) != len(self._model_variables_moving_average):
            raise ValueError(
                f"Got {len(variables)} variables to overwrite but the optimizer holds "
                f"{len(self._model_variables_moving_average)} averages; pass the variables the "
                "optimizer was built with."
            )
        for variable, average in zip(variables, self._model_variables_moving_average):
            variable.value[...] = average.value

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """Swap the EMA of the weights into `var_list` when `use_ema` is on (`fit` calls this)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    def scale_loss(self, loss: Any) -> Any:
        """Multiply the loss by `loss_scale_factor` (if set) before taking gradients."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # Saving -----------------------------------------------------------------------
    def save_own_variables(self, store: dict[str, np.ndarray]) -> None:
        """Store a copy of each state variable under `"0"`, `"1"`, ... in `variables` order."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = np.array(variable.value, copy=True)

    def load_own_variables(self, store: Mapping[str, Any] | Sequence[Any]) -> None:
        """Restore the state saved by `save_own_variables` (a mapping, or a list of arrays).

        The optimizer must be built on the same variables first (`build(var_list)`).
        As in Keras, a store holding a different number of variables is skipped with
        a warning, so that a model saved before its optimizer ever ran still loads.
        """
        values = (
            [store[str(i)] for i in range(len(store))]
            if isinstance(store, Mapping)
            else list(store)
        )
        if len(values) != len(self._variables):
            hint = "" if self.built else " Call `optimizer.build(trainable_variables)` first."
            warnings.warn(
                f"Skipping variable loading for optimizer {self.name!r}: it has "
                f"{len(self._variables)} variables but the saved state has {len(values)}.{hint}",
                stacklevel=_user_stacklevel(),
            )
            return
        for variable, value in zip(self._variables, values):
            variable.assign(np.asarray(unwrap(value), dtype=variable.dtype))

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set every state variable from a list of arrays in `variables` order."""
        if not self.built:
            raise ValueError(
                "set_weights() was called on an optimizer that is not built yet; call "
                "`optimizer.build(trainable_variables)` first."
            )
        if len(weights) != len(self._variables):
            raise ValueError(
                f"{type(self).__name__} has {len(self._variables)} variables but "
                f"{len(weights)} weights were given."
            )
        for variable, value in zip(self._variables, weights):
            variable.assign(np.asarray(unwrap(value), dtype=variable.dtype))

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        lr = self._learning_rate
        learning_rate = float(lr.value) if isinstance(lr, Variable) else serialize_keras_object(lr)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None
    ) -> Optimizer:
        """Create an optimizer (without its state) from `get_config()` output.

        Args:
            config: the dict returned by `get_config()`.
            custom_objects: user-defined schedule classes or functions by name.
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), Mapping):
            config["learning_rate"] = schedules_module.deserialize(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate:g}>"
