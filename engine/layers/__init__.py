"""Layers, with Keras's names and arguments.

Example:
    >>> from engine.layers import Dense, Dropout
"""

from __future__ import annotations

from typing import Any

from engine.layers.activations.activation import Activation
from engine.layers.activations.elu import ELU
from engine.layers.activations.leaky_relu import LeakyReLU
from engine.layers.activations.prelu import PReLU
from engine.layers.activations.relu import ReLU
from engine.layers.activations.softmax import Softmax
from engine.layers.attention.additive_attention import AdditiveAttention
from engine.layers.attention.attention import Attention
from engine.layers.attention.multi_head_attention import MultiHeadAttention
from engine.layers.convolutional.conv1d import Conv1D
from engine.layers.convolutional.conv1d_transpose import Conv1DTranspose
from engine.layers.convolutional.conv2d import Conv2D
from engine.layers.convolutional.conv2d_transpose import Conv2DTranspose
from engine.layers.convolutional.depthwise_conv1d import DepthwiseConv1D
from engine.layers.convolutional.depthwise_conv2d import DepthwiseConv2D
from engine.layers.convolutional.separable_conv1d import SeparableConv1D
from engine.layers.convolutional.separable_conv2d import SeparableConv2D
from engine.layers.core.dense import Dense
from engine.layers.core.embedding import Embedding
from engine.layers.core.identity import Identity
from engine.layers.core.input_layer import Input, InputLayer
from engine.layers.core.lambda_layer import Lambda
from engine.layers.core.masking import Masking
from engine.layers.layer import Layer
from engine.layers.merging.add import Add, add
from engine.layers.merging.average import Average, average
from engine.layers.merging.base_merge import Merge
from engine.layers.merging.concatenate import Concatenate, concatenate
from engine.layers.merging.dot import Dot, dot
from engine.layers.merging.maximum import Maximum, maximum
from engine.layers.merging.minimum import Minimum, minimum
from engine.layers.merging.multiply import Multiply, multiply
from engine.layers.merging.subtract import Subtract, subtract
from engine.layers.normalization.batch_normalization import BatchNormalization
from engine.layers.normalization.group_normalization import GroupNormalization
from engine.layers.normalization.layer_normalization import LayerNormalization
from engine.layers.normalization.unit_normalization import UnitNormalization
from engine.layers.pooling.average_pooling1d import AveragePooling1D, AvgPool1D
from engine.layers.pooling.average_pooling2d import AveragePooling2D, AvgPool2D
from engine.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D, GlobalAvgPool1D
from engine.layers.pooling.global_average_pooling2d import GlobalAveragePooling2D, GlobalAvgPool2D
from engine.layers.pooling.global_max_pooling1d import GlobalMaxPool1D, GlobalMaxPooling1D
from engine.layers.pooling.global_max_pooling2d import GlobalMaxPool2D, GlobalMaxPooling2D
from engine.layers.pooling.max_pooling1d import MaxPool1D, MaxPooling1D
from engine.layers.pooling.max_pooling2d import MaxPool2D, MaxPooling2D
from engine.layers.preprocessing import (
    Normalization,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
)
from engine.layers.regularization.activity_regularization import ActivityRegularization
from engine.layers.regularization.dropout import Dropout
from engine.layers.regularization.gaussian_dropout import GaussianDropout
from engine.layers.regularization.gaussian_noise import GaussianNoise
from engine.layers.regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D
from engine.layers.reshaping.cropping1d import Cropping1D
from engine.layers.reshaping.cropping2d import Cropping2D
from engine.layers.reshaping.flatten import Flatten
from engine.layers.reshaping.permute import Permute
from engine.layers.reshaping.repeat_vector import RepeatVector
from engine.layers.reshaping.reshape import Reshape
from engine.layers.reshaping.up_sampling1d import UpSampling1D
from engine.layers.reshaping.up_sampling2d import UpSampling2D
from engine.layers.reshaping.zero_padding1d import ZeroPadding1D
from engine.layers.reshaping.zero_padding2d import ZeroPadding2D
from engine.layers.rnn.bidirectional import Bidirectional
from engine.layers.rnn.gru import GRU, GRUCell
from engine.layers.rnn.lstm import LSTM, LSTMCell
from engine.layers.rnn.rnn import RNN
from engine.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from engine.layers.rnn.stacked_rnn_cells import StackedRNNCells
from engine.layers.rnn.time_distributed import TimeDistributed

_EXPORTED = [
    Layer,
    InputLayer,
    # core
    Dense,
    Identity,
    Lambda,
    Embedding,
    Masking,
    # activations
    Activation,
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    # attention
    AdditiveAttention,
    Attention,
    MultiHeadAttention,
    # convolutional
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    # regularization
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    # reshaping
    Cropping1D,
    Cropping2D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
    # pooling
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
    # recurrent
    Bidirectional,
    GRU,
    GRUCell,
    LSTM,
    LSTMCell,
    RNN,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
    TimeDistributed,
    # merging
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    # normalization
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    UnitNormalization,
    # preprocessing
    Normalization,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
]

# Keras's long names for the convolution layers.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D


def _module_objects() -> dict[str, Any]:
    from engine import models

    objects: dict[str, Any] = {cls.__name__: cls for cls in _EXPORTED}
    # Keras's aliases (MaxPool2D, Convolution2D, ...) name the same classes in configs.
    module = globals()
    objects.update({name: module[name] for name in __all__ if isinstance(module.get(name), type)})
    objects.update(
        {"Model": models.Model, "Functional": models.Functional, "Sequential": models.Sequential}
    )
    return objects


def serialize(layer: Layer) -> dict[str, Any]:
    """A layer's class and config as a JSON-able dict."""
    from engine.saving.serialization import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Rebuild a layer (or a nested model) from `serialize` output."""
    from engine.saving.serialization import custom_object_scope, deserialize_keras_object

    with custom_object_scope(custom_objects):
        return deserialize_keras_object(config, _module_objects(), custom_objects, kind="layer")


__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "Cropping1D",
    "Cropping2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ELU",
    "Activation",
    "ActivityRegularization",
    "Add",
    "AdditiveAttention",
    "Attention",
    "Average",
    "BatchNormalization",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Dense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "Embedding",
    "Masking",
    "Bidirectional",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "Identity",
    "Input",
    "InputLayer",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Maximum",
    "Merge",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "Normalization",
    "PReLU",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "RepeatVector",
    "Permute",
    "Reshape",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "Softmax",
    "Subtract",
    "UnitNormalization",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "serialize",
    "subtract",
]
