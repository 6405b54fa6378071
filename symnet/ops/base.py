"""What every op is: its parameters, its formula, its arithmetic, and what analyses read of it.

An :class:`Op` is a frozen record. Everything symnet needs from an operation is a method of it,
written once: ``formula`` (the textbook SymPy expression over parameter symbols), ``forward``
(the arithmetic, against the small :class:`~symnet.backends.Backend` interface, so that the same
code runs in float32 as Keras does, in float64, exactly, symbolically and linearized),
``output_shape``, ``size`` (the closed form's growth), ``as_affine`` (its affine map, when it is
affine in its input, computed once), ``mistakes`` (how a hand calculation gets it wrong, as
other ops), and ``backward`` (the vector–Jacobian product, on the same backends) with its
textbook form ``backward_formula`` (``δ W^T``, ``x^T δ``, ``δ ⊙ f'(z)``).
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import sympy as sp

from ..functions import number

if TYPE_CHECKING:
    from ..backends import Backend

__all__ = ["Constant", "Grads", "Op", "Param", "Rewrite", "Worked", "aligned", "along",
           "broadcast_row", "matrix_shape", "no_derivative", "numbers_latex", "numbers_text",
           "spread", "transposed", "unbroadcast"]


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The matrix view ``(rows, columns)`` of a per-sample tensor shape: all axes but the last
    are rows, so that Keras' ``x @ K + b`` is literally ``x K + b``."""
    if len(shape) == 0:
        return (1, 1)
    rows = 1
    for d in shape[:-1]:
        rows *= int(d)
    return (rows, int(shape[-1]))


def broadcast_row(row: Any, rows: Any) -> Any:
    """A ``(1, n)`` parameter repeated on every row of a ``(rows, n)`` input."""
    return row if int(rows) == 1 else sp.OneMatrix(rows, 1) * row


def aligned(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """A per-sample shape with 1s in front, to ``rank`` axes (numpy's broadcasting)."""
    return (1,) * (rank - len(shape)) + tuple(shape)


def spread(symbol: Any, shape: tuple[int, ...], sample_shape: tuple[int, ...]) -> Any:
    """A parameter of broadcast ``shape`` over a sample of ``sample_shape``, as the sample's
    matrix view: the parameter's row repeated when it runs along the last axis only."""
    from ..functions import Broadcast

    shape = aligned(tuple(shape), len(sample_shape))
    if all(d == 1 for d in shape[:-1]) and shape[-1] == sample_shape[-1]:
        return broadcast_row(symbol, matrix_shape(tuple(sample_shape))[0])
    return Broadcast(symbol, shape, tuple(sample_shape))


def along(axis: int, rank: int) -> int:
    """A per-sample axis (``-1``: the last) as a non-negative index."""
    return axis % rank


@dataclass(frozen=True, eq=False)
class Param:
    """One array of numbers a formula uses, with the symbol that stands for it."""

    name: str
    """Keras' name of the array: ``kernel``, ``bias``, ``gamma``, ``moving_mean``..."""
    symbol: sp.MatrixSymbol | None
    """The symbol in the formula (``None`` for arrays inference does not use, e.g. a count)."""
    value: np.ndarray = field(repr=False)
    trainable: bool
    meaning: str
    """What the array is, in a sentence (the question the first seed asks)."""
    weight: bool = True
    """A weight of the layer (counted by ``model.summary()``); ``False`` for numbers from the
    layer's config, such as ``Normalization(mean=..., variance=...)``."""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def size(self) -> int:
        return int(self.value.size)

    def matrix(self) -> sp.ImmutableMatrix:
        """The values as the matrix the symbol stands for (``Float``\\ s holding them exactly)."""
        rows, cols = (int(d) for d in self.symbol.shape) if self.symbol is not None else (
            matrix_shape(self.shape))
        flat = np.asarray(self.value, dtype=np.float64).reshape(-1)
        return sp.ImmutableMatrix(rows, cols, [sp.Float(float(v), precision=53) for v in flat])

    @cached_property
    def exact(self) -> tuple[np.ndarray, int]:
        """``value == numerators / 2**shift`` with Python-int numerators: the exact rationals
        of the stored floats, computed once (every float32 is a dyadic rational)."""
        from ..backends.exact import dyadic

        return dyadic(self.value)


@dataclass(frozen=True, eq=False)
class Constant:
    """A hyperparameter that formulas show as a symbol (BatchNorm's ε), with its value."""

    name: str
    """Its key in the layer's config (``epsilon``)."""
    symbol: sp.Symbol
    value: float
    """As the config (or Keras) gives it."""

    @property
    def exact(self) -> sp.Rational:
        """The value exactly as written (``0.001`` is 1/1000)."""
        return number(self.value)


@dataclass(frozen=True, eq=False)
class Rewrite:
    """A hand-calculation mistake on one op: the op as the student computed it."""

    code: str
    """The diagnosis (``bias_omitted``, ``bn_epsilon_outside_sqrt``...)."""
    message: str
    """A sentence; ``{layer}`` stands for the layer's name."""
    op: Op
    uses_batch: bool = False
    """Whether the op needs the batch run through the network before the sample."""
    variant: str = ""
    """Which form of the mistake, when a code has several (dropout scaled by 1 − rate or
    divided by it): a mistake made the same way in several layers is one code and one variant."""
    reported_only: bool = False
    """The op gives what the student *wrote* as the layer's output, while the next layers
    use the right value (a pre-activation written as the layer's output)."""


@dataclass(frozen=True, eq=False)
class Grads:
    """What an op's backward pass gives, for upstream gradient ``g = ∂L/∂y``: ``∂L/∂`` each
    input (batch first, shaped like it; ``None`` where the op is not differentiable in it, an
    index), and ``∂L/∂`` each parameter array the op reads, summed over the batch and shaped
    like the array."""

    inputs: tuple[Any, ...]
    params: dict[Param, Any] = field(default_factory=dict)


def no_derivative(op: Op, why: str) -> Exception:
    """The error for a derivative that is not defined (or not written): never a wrong
    gradient. The graph adds the layer's name."""
    from ..errors import UnsupportedLayerError

    return UnsupportedLayerError(f"{op.describe()} ({type(op).__name__}): {why}")


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """``grad`` (batch first) summed over the axes a parameter of ``shape`` was broadcast
    along, as numpy broadcast it against the batch (the batch axis, and the per-sample axes
    where the parameter has 1), reshaped to ``shape``. ``shape`` may hold the per-sample axes
    only (Keras' ``(n,)``) or a leading 1 for the batch (ONNX's ``(1, n)``)."""
    arr = np.asarray(grad)
    shape = tuple(int(d) for d in shape)
    if len(shape) > arr.ndim:
        raise ValueError(f"a parameter of shape {shape} does not broadcast against a gradient "
                         f"of shape {arr.shape}")
    full = aligned(shape, arr.ndim)
    axes = tuple(k for k, (p, s) in enumerate(zip(full, arr.shape)) if p == 1 and s != 1)
    if not axes:
        return arr.reshape(shape)
    total = arr.sum(axis=axes, keepdims=True) if arr.dtype != object else _object_sum(arr, axes)
    return total.reshape(shape)


class Transposed:
    """A 2-D weight transposed (``K^T``), kept beside the weight: backends take it as a
    weight (``backend.matmul_weight(g, transposed(kernel))``), the exact one converting it to
    an integer matrix once, as it does the weight itself."""

    __slots__ = ("__weakref__", "value")

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.ascontiguousarray(np.swapaxes(value, -1, -2))


_TRANSPOSED: weakref.WeakKeyDictionary[Any, Transposed] = weakref.WeakKeyDictionary()


def transposed(weight: Any) -> Transposed:
    """``weight`` (a :class:`Param` or a 2-D array) transposed, made once per weight."""
    try:
        cached = _TRANSPOSED.get(weight)
    except TypeError:  # an array: not weakly referable, made each time
        return Transposed(np.asarray(weight))
    if cached is None:
        cached = _TRANSPOSED[weight] = Transposed(np.asarray(getattr(weight, "value", weight)))
    return cached


def _object_sum(arr: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """A sum of an object array over ``axes``, axes kept (Python ``+`` of its entries, left to
    right: exact for rationals, a flat ``Add`` for SymPy terms)."""
    import sympy as sp

    moved = np.moveaxis(arr, axes, tuple(range(len(axes))))
    flat = moved.reshape(-1, *moved.shape[len(axes):])
    out = np.empty(flat.shape[1:], dtype=object)
    symbolic = any(isinstance(v, sp.Basic) for v in flat.reshape(-1)[:1])
    for index in np.ndindex(*out.shape):
        terms = [flat[(k,) + index] for k in range(flat.shape[0])]
        out[index] = sp.Add(*terms) if symbolic else sum(terms[1:], terms[0]) if terms else 0
    shape = [1 if k in axes else n for k, n in enumerate(arr.shape)]
    return out.reshape(shape)


class Op:
    """One operation of a network. Subclasses are frozen dataclasses."""

    arity: ClassVar[int] = 1
    """How many inputs (0: one or more)."""
    affine: ClassVar[bool] = False
    """Affine in its input (``as_affine`` gives the map)."""
    entrywise: ClassVar[bool] = False
    """Acts entry by entry (output entry i depends on input entry i only)."""
    is_activation: ClassVar[bool] = False
    """An activation function: what a student forgets when they forget the activation."""
    identity: ClassVar[bool] = False
    """The identity at inference."""
    rowwise: ClassVar[bool] = False
    """Acts on each row of the matrix view (the last axis) alone, the same way for every row:
    what can be applied to each step of a sequence (``TimeDistributed``)."""

    @property
    def piecewise_linear(self) -> bool:
        """Affine, or affine on each of finitely many pieces (ReLU, max...)."""
        return self.affine

    def params(self) -> tuple[Param, ...]:
        """The arrays the op reads, in field order."""
        found = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Param):
                found.append(value)
        return tuple(found)

    def constants(self) -> tuple[Constant, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self)  # type: ignore
                     if isinstance(getattr(self, f.name), Constant))

    def formula(self, *xs: Any) -> Any:
        """The textbook formula of the output, over the inputs' and parameters' symbols."""
        raise NotImplementedError

    def forward(self, backend: Backend, *xs: Any) -> Any:
        """The output's numbers (batch first) on ``backend``."""
        raise NotImplementedError

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for the per-sample input shapes."""
        return shapes[0]

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        """Estimated SymPy nodes per output entry, given the inputs' nodes per entry and their
        per-sample shapes."""
        return sizes[0] + 2

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(W, b)`` in float64 with ``f(x) = x W + b`` on vectors of ``n`` entries, for an
        affine op; ``None`` otherwise."""
        diagonal = self.as_diagonal(n)
        return None if diagonal is None else (np.diag(diagonal[0]), diagonal[1])

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(d, b)`` with ``f(x) = x ⊙ d + b`` on vectors of ``n`` entries, for an op that is
        affine entry by entry (a bias, a BatchNorm, the identity); ``None`` otherwise. Passes
        merge these without the n×n matrix (a bias of 20,000 units: 3.2 GB)."""
        return None

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        """The ways a hand calculation gets this op wrong (``last``: it makes the network's
        output; ``batch``: rows of a batch the student may have taken statistics from)."""
        return ()

    def describe(self) -> str:
        """A few words: what the op is."""
        return type(self).__name__

    def backward(self, backend: Backend, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """The vector–Jacobian product on ``backend``: given the inputs ``xs`` and output ``y``
        of the forward pass and ``g = ∂L/∂y`` (batch first), ``∂L/∂`` each input and each
        parameter. Written once, like ``forward``; derivatives at a kink follow TensorFlow's
        gradient (``ReLU'(0) = 0``). An op whose derivative is not defined raises an error
        naming it (:func:`no_derivative`)."""
        raise no_derivative(self, "its derivative is not available (no backward pass is "
                            "written for this operation)")

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads | None:
        """The textbook form of :meth:`backward` for one sample: ``g`` and the inputs are
        SymPy matrix expressions (the per-sample matrix view), the result's entries too
        (``g·K^T`` and ``x^T·g`` for a kernel). ``None``: no textbook form (reports then name
        the vector–Jacobian product)."""
        return None

    def backward_mistakes(self, *, learning_rate: float | None = None
                          ) -> tuple[Rewrite, ...]:
        """How a hand calculation of the backward pass gets this op wrong, each as a rewrite
        of the op with the same forward pass and the ``backward`` the student computed (the
        derivative forgotten or taken at the output, the outer product transposed...:
        :mod:`symnet.ops.backward_mistakes`). ``learning_rate``: the step's, for mistakes that
        mix the step into the backward pass (``None``: no step taken)."""
        return ()

    def by_hand(self, inputs: list[np.ndarray], output: np.ndarray) -> tuple[Worked, ...]:
        """How one entry of the output is computed, with the numbers of one sample (float64
        per-sample arrays): lines for the trace. Ops whose entries are plain to see give
        none."""
        return ()


@dataclass(frozen=True)
class Worked:
    """One line of a calculation done by hand, in LaTeX and in plain text."""

    latex: str
    text: str


def numbers_latex(values: np.ndarray, digits: int = 4) -> str:
    """A small array as a LaTeX matrix (a vector as one row)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    rows = [" & ".join(f"{v:.{digits}g}" for v in row) for row in arr]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def numbers_text(values: np.ndarray, digits: int = 4) -> str:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim <= 1:
        return "[" + ", ".join(f"{v:.{digits}g}" for v in arr.reshape(-1)) + "]"
    return "[" + ", ".join(numbers_text(row, digits) for row in arr) + "]"
