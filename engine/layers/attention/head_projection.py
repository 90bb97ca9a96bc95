"""`HeadProjection`: the einsum-dense projections inside `MultiHeadAttention`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine import constraints, initializers, regularizers
from engine.layers.layer import Layer
from engine.ops.attention import projection


class HeadProjection(Layer):
    """Projects the last `contract_dims` axes of its input to `output_shape`, with a bias.

    `MultiHeadAttention` holds four of these, named `query`, `key`, `value` and
    `attention_output`, as Keras holds four `EinsumDense` layers: the input
    projections map `(..., dim)` to `(..., heads, head_dim)` with a kernel
    `(dim, heads, head_dim)` and a bias `(heads, head_dim)`; the output one maps
    `(..., heads, head_dim)` to `(..., *output_shape)` with a kernel
    `(heads, head_dim, *output_shape)`.

    Args:
        output_shape: the trailing output dims, e.g. `(heads, key_dim)`.
        contract_dims: how many trailing input axes are contracted (1 or 2).
        use_bias: whether to add a bias of shape `output_shape`.
        kernel_initializer, bias_initializer: initializers for the weights.
        kernel_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        kernel_constraint, bias_constraint: optional projections after each update.

    Example:
        >>> layer = HeadProjection((4, 8), name="query")
        >>> layer(np.ones((2, 5, 16), "float32")).shape
        (2, 5, 4, 8)
        >>> layer.kernel.shape
        (16, 4, 8)
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        contract_dims: int = 1,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if contract_dims < 1:
            raise ValueError(f"HeadProjection contract_dims must be >= 1, got {contract_dims}.")
        self.projected_shape = tuple(int(d) for d in output_shape)
        self.contract_dims = int(contract_dims)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape: Any) -> None:
        contracted = tuple(input_shape)[-self.contract_dims :]
        if len(contracted) != self.contract_dims or any(d is None for d in contracted):
            raise ValueError(
                f"HeadProjection {self.name!r} needs the last {self.contract_dims} input "
                f"dimension(s) known, got shape {tuple(input_shape)}."
            )
        self.kernel = self.add_weight(
            shape=(*contracted, *self.projected_shape),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.bias = (
            self.add_weight(
                shape=self.projected_shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
            if self.use_bias
            else None
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return projection(inputs, self.kernel, self.bias, self.contract_dims)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[: -self.contract_dims], *self.projected_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "output_shape": list(self.projected_shape),
                "contract_dims": self.contract_dims,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
            }
        )
        return config
