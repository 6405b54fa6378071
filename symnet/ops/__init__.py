"""Operations: each defines, once, its formula, its arithmetic on every backend, its size, its
affine form or pieces, and the mistakes a hand calculation makes on it.

A converter (:mod:`symnet.layers`) turns a Keras layer into a few of these; everything after
it — forms, backends, passes, piecewise regions, the trace, the mistake catalogue, reports —
reads ops, never Keras class names.
"""

from .activations import (
           ACTIVATIONS,
           Elementwise,
           Fn,
           PReLU,
           Softmax,
           celu_fn,
           elu_fn,
           leaky_relu_fn,
           relu_fn,
)
from .arithmetic import ConstantArithmetic, WithConstant
from .base import Constant, Op, Param, Rewrite, broadcast_row, matrix_shape
from .conv import Conv, GlobalPool, Pool
from .linear import Affine, BiasAdd, MatMul, Rescale
from .merge import Merge
from .normalization import BatchNormInference, BatchStatistics, LayerNorm, Normalize, RMSNorm
from .shape import Concat, Identity, Rearrange, Resample, Reshape

__all__ = ["ACTIVATIONS", "Affine", "BatchNormInference", "BatchStatistics", "BiasAdd", "Concat",
           "Constant", "ConstantArithmetic", "Conv", "Elementwise", "Fn", "GlobalPool", "Identity",
           "LayerNorm", "MatMul", "Merge", "Normalize", "Op", "PReLU", "Param", "Pool", "RMSNorm",
           "Rearrange", "Resample", "Rescale", "Reshape", "Rewrite", "Softmax", "WithConstant",
           "broadcast_row", "celu_fn", "elu_fn", "leaky_relu_fn", "matrix_shape", "relu_fn"]
