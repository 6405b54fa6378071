"""symnet: a trained Keras network as mathematics you can read, check and trust.

``import symnet`` does not import TensorFlow; Keras is imported when a model is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import display as _display
from .errors import (
    ExpressionTooLarge,
    InvalidInputError,
    ModelLoadError,
    SymnetError,
    SymnetWarning,
    UnsupportedLayerError,
)

if TYPE_CHECKING:
    from .analysis.backtrace import BackwardTrace
    from .analysis.explanation import Explanation, Trace, TraceStep
    from .analysis.gradients import Gradient
    from .analysis.passes import PassResult
    from .analysis.pieces import Piece
    from .analysis.piecewise import Inequalities
    from .analysis.regions2d import Region
    from .graph import LayerFormula
    from .homework import Diagnosis, StepVerdict, Verdict
    from .network import Network
    from .training import TrainStep

__version__ = "0.1.0"

__all__ = [
    "BackwardTrace",
    "Diagnosis",
    "Explanation",
    "ExpressionTooLarge",
    "Gradient",
    "Inequalities",
    "InvalidInputError",
    "LayerFormula",
    "ModelLoadError",
    "Network",
    "PassResult",
    "Piece",
    "Region",
    "StepVerdict",
    "SymnetError",
    "SymnetWarning",
    "Trace",
    "TrainStep",
    "TraceStep",
    "UnsupportedLayerError",
    "Verdict",
    "__version__",
    "check",
    "examples",
    "explain",
    "get_printoptions",
    "latex_preamble",
    "set_printoptions",
    "supported_layers",
]

#: The types the API returns, imported when first asked for (``symnet.Verdict``...).
_TYPES = {"Network": ".network", "LayerFormula": ".graph", "Trace": ".analysis.explanation",
          "TraceStep": ".analysis.explanation", "Explanation": ".analysis.explanation",
          "Piece": ".analysis.pieces", "Inequalities": ".analysis.piecewise",
          "Region": ".analysis.regions2d", "PassResult": ".analysis.passes",
          "Verdict": ".homework", "Diagnosis": ".homework", "StepVerdict": ".homework",
          "Gradient": ".analysis.gradients", "BackwardTrace": ".analysis.backtrace",
          "TrainStep": ".training"}


def explain(model: Any, *, input_names: Any = None, output_names: Any = None,
            reader: str = "auto", example_input: Any = None, dims: Any = None) -> Network:
    """Read a Keras model (object or ``.keras``/``.h5`` path), an ONNX model (``.onnx`` path
    or ``onnx.ModelProto``) or a PyTorch module (with ``example_input``) and give its
    :class:`Network`.

    See :func:`symnet.network.explain`.
    """
    from .network import explain as _explain

    return _explain(model, input_names=input_names, output_names=output_names, reader=reader,
                    example_input=example_input, dims=dims)


def check(model: Any, x: Any, *, answer: Any = None, steps: Any = None, formula: Any = None,
          rtol: float = 1e-4, atol: float = 1e-6, digits: int = 3, batch: Any = None,
          domain: Any = None, close: float = 0.01, key: Any = None, target: Any = None,
          loss: Any = None, gradients: Any = None, learning_rate: Any = None,
          updated: Any = None) -> Verdict:
    """Check a hand calculation of ``model`` at input ``x``; returns a ``Verdict``.

    Args:
        model: a ``keras.Model``, a path, or a :class:`Network`.
        x: one input sample.
        answer: the final number(s) computed for ``x`` (numbers or text: the digits shown
            count).
        steps: layer name -> the values computed for that layer's output (a dict, or its JSON).
        formula: plain math (``2*x + 5``, ``max(0, 3x - 1)``) or LaTeX claimed to equal the
            network; read by a safe parser, never evaluated as Python.
        rtol: the relative tolerance within which a number is correct whatever digits it
            shows.
        atol: the absolute tolerance, with ``rtol``.
        digits: the significant digits an answer must show at least: an answer is also
            correct when it shows that many and is the output rounded to the digits it shows
            (code ``rounding``); one that shows fewer is ``too_imprecise``.
        batch: the batch a student may have taken BatchNorm's statistics from.
        domain: ``(low, high)`` on which a formula is compared (default: all reals for a
            one-input piecewise-linear network, else [-10, 10]).
        close: a wrong answer within this relative distance of the right one is ``close``.
        key: an exercise's key (``exercise.json`` written by ``symnet exercise``): messages in
            its sheet's notation, and an answer that is another student's is ``other_variant``.
        target: with ``gradients`` or ``updated``: the target of ``x``.
        loss: with ``gradients`` or ``updated``: the loss (a Keras loss name or a formula of
            ``y`` and ``t``, as for ``net.gradient``).
        gradients: a backpropagation by hand: any of ``"loss"``, a layer's name (its δ, as
            ``net.gradient(...).deltas``), ``"layer/weight"`` (that weight's gradient, as
            ``net.gradient(...).parameters``) -> the numbers computed (a dict, or its JSON).
        learning_rate: the rate η of the step of gradient descent ``updated`` was computed
            with.
        updated: one step of gradient descent by hand, ``w − η ∂L/∂w``: ``"layer/weight"``
            -> the weight after the step.

    Every diagnosis says how sure it is (``Verdict.diagnosis.confidence``: the documentation's
    "diagnosis codes"): ``too_imprecise`` only for the right value rounded to too few digits;
    a mistake reproduced exactly, matched only by a pair, or only at the digits written;
    ``close`` for a near miss, with its distance.

    A wrong answer is diagnosed by reproducing each known mistake (each in one layer, each in
    every layer where it applies, and pairs of different ones): ``missing_activation``,
    ``pre_activation_as_output``, ``transposed_kernel``, ``bias_omitted``,
    ``bn_epsilon_outside_sqrt``, ``bn_epsilon_omitted``, ``bn_sigma_for_variance``,
    ``bn_gamma_beta_swapped``, ``bn_batch_statistics``, ``dropout_at_inference``,
    ``logits_not_probabilities``, ``sigmoid_for_softmax``, ``activation_on_output``,
    ``normalization_omitted``, ``wrong_layer_order``; ``unknown`` otherwise. Gradients and
    updated weights are judged part by part with follow-through credit (a gradient computed
    right from the student's own wrong δ is ``consistent``), and the first wrong part is
    diagnosed from the backpropagation mistakes (``derivative_forgotten``,
    ``derivative_at_output``, ``loss_sign_flipped``, ``loss_factor_two``,
    ``loss_mean_forgotten``, ``outer_product_transposed``, ``softmax_jacobian_dropped``,
    ``softmax_not_simplified``, ``gradient_ascent``, ``learning_rate_forgotten``,
    ``learning_rate_twice``, ``bias_not_updated``, ``updated_weights_for_delta``). With ``steps``,
    each step is ``right``, ``consistent`` (right from the student's own earlier values) or
    ``wrong`` (``Verdict.steps``), and ``Verdict.score`` is the share right or consistent. A
    formula is called equal only when that is proven (one input, piecewise linear); otherwise
    the verdict says it agrees at sample points.
    """
    from .homework import check as _check

    return _check(model, x, answer=answer, steps=steps, formula=formula, rtol=rtol, atol=atol,
                  digits=digits, batch=batch, domain=domain, close=close, key=key,
                  target=target, loss=loss, gradients=gradients, learning_rate=learning_rate,
                  updated=updated)


def supported_layers() -> list[str]:
    """The Keras layer classes symnet converts exactly."""
    from .layers import supported_layers as _supported

    return _supported()


def latex_preamble() -> str:
    """The lines to put before ``\\begin{document}`` so that symnet's LaTeX fragments
    (``net.report("latex", standalone=False)``) compile in your own document: the
    ``\\usepackage`` lines of four standard packages (``amsmath``, ``amssymb``, ``booktabs``,
    ``tabularx``) and three small macros (``\\symnetdisplay``, ``\\symnetbreak``,
    ``\\symnetfit``) that let LaTeX fit formulas and matrices to your line width."""
    from .report import latex_preamble as _preamble

    return _preamble()


def set_printoptions(*, digits: int | None = None) -> None:
    """The significant digits of every number symnet shows when not told otherwise (reports,
    Jupyter displays): ``None`` restores the default, 7 (what a float32 holds)."""
    from .printing.numbers import set_printoptions as _set

    try:
        _set(digits=digits)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def get_printoptions() -> dict[str, int]:
    """The print options in force: ``{"digits": 7}``."""
    from .printing.numbers import get_printoptions as _get

    return _get()


def _display_hooks() -> None:
    # The records' Jupyter display and summaries come from the report's printers: loaded on
    # first use, so that neither ``import symnet`` nor the analyses import the printers.
    from .report import display  # noqa: F401  (registers the hooks)


_display.install(_display_hooks)


def __getattr__(name: str) -> Any:
    # Lazy: ``symnet.examples`` and the returned types without importing Keras up front.
    import importlib

    if name == "examples":
        return importlib.import_module(".examples", __name__)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name], __name__), name)
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")
