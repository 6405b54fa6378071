"""Dropout and noise layers (the identity at inference, and the formula says so), and
``Identity``."""

from __future__ import annotations

from . import Conversion, LayerContext, converter

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


@converter(*_TRAINING_ONLY)
def identity_at_inference(ctx: LayerContext) -> Conversion:
    option = _TRAINING_ONLY[ctx.kind]
    shown = f" ({option}={ctx.config.get(option)!r})" if option else ""
    return Conversion(
        rhs=ctx.x,
        forward=lambda backend, xs, w: xs[0],
        size=lambda sizes: sizes[0],
        note=("the output is the input" if ctx.kind == "Identity" else
              f"{ctx.kind}{shown} acts only while training; at inference it is the identity"),
        constants={option: ctx.config.get(option)} if option else {},
        piecewise_linear=True,
    )
