"""Dropout and noise layers (the identity at inference, and the formula says so), and
``Identity``."""

from __future__ import annotations

from ..ops import Identity
from . import LayerContext, converter
from .spec import SEED, Inert, Number, spec

#: Layer class -> the option that sets what it does while training.
_TRAINING_ONLY = {
    "Dropout": "rate",
    "SpatialDropout1D": "rate",
    "SpatialDropout2D": "rate",
    "SpatialDropout3D": "rate",
    "AlphaDropout": "rate",
    "GaussianDropout": "rate",
    "GaussianNoise": "stddev",
    "ActivityRegularization": None,
    "Identity": None,
}
#: The inverted dropouts: while training they scale what they keep by 1/(1 − rate).
_DROPOUT = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"}


_WHILE_TRAINING = Inert("what the layer does while training only")
_PENALTY = Inert("a penalty on the activity added to the training loss")


@converter(*_TRAINING_ONLY, config=spec(
    rate=Number(0, 1), stddev=Number(0), noise_shape=_WHILE_TRAINING, seed=SEED,
    data_format=_WHILE_TRAINING, l1=_PENALTY, l2=_PENALTY).reading())
def identity_at_inference(ctx: LayerContext) -> int:
    option = _TRAINING_ONLY[ctx.kind]
    shown = f" ({option}={ctx.config.get(option)!r})" if option else ""
    if option:
        ctx.constants[option] = ctx.config.get(option)
    ctx.note = ("the output is the input" if ctx.kind == "Identity" else
                f"{ctx.kind}{shown} acts only while training; at inference it is the identity")
    rate = float(ctx.config.get("rate", 0.0)) if ctx.kind in _DROPOUT else None
    return ctx.apply(Identity(ctx.note, rate))
