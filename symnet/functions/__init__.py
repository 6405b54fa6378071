"""symnet's SymPy functions: the activations and matrix operations SymPy does not have.

This is the one symnet namespace a formula needs: ``sympy.srepr`` of any formula symnet writes
is rebuilt in a fresh process by ``eval`` with the names of ``sympy`` and of this package::

    from sympy import *
    from symnet.functions import *
    formula = eval(text)          # only for text you trust: srepr is Python code

Activations (:mod:`.activations`) are SymPy ``Function``\\ s of their argument and options;
layer formulas apply them to a matrix through :class:`Entrywise` (SymPy's
``ElementwiseApplyFunction``), and the ReLU family is shown by its definition, ``Max(0, t)``.
Matrix operations (:mod:`.matrices`, :mod:`.convolution`, :mod:`.recurrent`) are
``MatrixExpr``\\ s whose ``_entry`` gives each entry explicitly, so a formula made explicit with
numbers is the same function as the forward pass.
"""

# Names srepr writes that ``from sympy import *`` does not give: MatrixSymbol names, the
# pieces of an unevaluated Piecewise, the identity function.
from sympy.core.symbol import Str
from sympy.functions.elementary.miscellaneous import IdentityFunction
from sympy.functions.elementary.piecewise import ExprCondPair

from .activations import *  # noqa: F403
from .activations import __all__ as _activations
from .attention import *  # noqa: F403
from .attention import __all__ as _attention
from .convolution import *  # noqa: F403
from .convolution import __all__ as _convolution
from .elementary import *  # noqa: F403
from .elementary import __all__ as _elementary
from .equation import LayerEquation
from .matrices import *  # noqa: F403
from .matrices import __all__ as _matrices
from .rearrange import *  # noqa: F403
from .rearrange import __all__ as _rearrange
from .recurrent import *  # noqa: F403
from .recurrent import __all__ as _recurrent
from .tensors import *  # noqa: F403
from .tensors import __all__ as _tensors

__all__ = [*_activations, *_attention, *_convolution, *_elementary, *_matrices, *_rearrange,
           *_recurrent, *_tensors, "ExprCondPair", "IdentityFunction", "LayerEquation", "Str"]
