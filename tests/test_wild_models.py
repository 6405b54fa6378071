"""The real models in ../shared/wild-models/: each one Keras 3 can load is explained and
evaluates as ``model.predict``; each other one is refused with its reason, by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symnet
from symnet import ModelLoadError, SymnetWarning, UnsupportedLayerError

from .conftest import predict, require_wild_models

EXPLAINED = [
    "admission_anindasau.h5", "airquality_lstm_bn.keras", "astro_leahcim.keras",
    "charity_17keerti.h5", "churn_ankit.h5", "codeweek_cnn.h5", "datausage_lstm.keras",
    "diabetes_123cryptic.keras", "ferrari_amiya.keras", "flownet_2mdtln.keras",
    "fraud_ae_asterios.h5", "fraud_ae_dino.h5", "friction_2024rock.h5", "gan1d_nakahatar.h5",
    "homl_arachneee.h5", "homl_custom_loss.h5", "houseprice_qiu.h5", "malgan_combined.h5",
    "malgan_detector.h5", "malgan_generator.h5", "mpg_rahulb.keras", "mpg_vasanth.keras",
    "nyhouse_ahmed.keras", "obesity_abdallah.keras", "rain_arj010.h5", "rain_arj010.keras",
    "shm_ae_aditvedi.h5", "smartbuilding_lstm.h5", "wide_and_deep.h5",
]

#: What Keras 3 cannot load but whose config is unambiguous: symnet reads it without Keras
#: (tests/test_saved_reader.py checks it against numpy); Keras' reading still fails.
KERAS_CANNOT = {"homl_model_A.h5": "fully-defined"}

#: What Keras 3 cannot load (or what is custom code), and the reason symnet gives.
REFUSED = {
    "cryptoann.h5": (ModelLoadError, "Keras 2.0-2.2"),
    "dfnn_morgroth.keras": (ModelLoadError, "written by Keras 2.15.0"),
    "liver_akshat.keras": (ModelLoadError, "written by Keras 2.15.0"),
    "hls4ml_hgq_jet_classifier.h5": (UnsupportedLayerError, "FixedPointQuantizer"),
    "hls4ml_qkeras-v3_3layer.keras": (UnsupportedLayerError, "QDense"),
    "homl_custom_parts.h5": (UnsupportedLayerError, "my_softplus"),
    "ccfraud_daksh_weights.h5": (ModelLoadError, "weights only"),
    "ferrari_amiya_trial_0019.weights.h5": (ModelLoadError, "weights only"),
}


def inputs_for(model, n=5):
    rng = np.random.default_rng(0)
    out = []
    for tensor in model.inputs:
        shape = tuple(tensor.shape[1:])
        if "int" in str(tensor.dtype):
            out.append(rng.integers(0, 2, size=(n, *shape)))
        else:
            out.append(rng.normal(size=(n, *shape)).astype(np.float32))
    return out if len(out) > 1 else out[0]


@pytest.mark.parametrize("name", EXPLAINED)
def test_real_model_is_explained_and_evaluates_as_predict(keras, name):
    folder = require_wild_models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SymnetWarning)  # the repaired input shapes say so
        net = symnet.explain(folder / name)
    model = net.model
    assert net.param_count == model.count_params()
    x = inputs_for(model)
    expected, got = predict(model, x), net.evaluate(x)
    for e, g in zip(expected if isinstance(expected, list) else [expected],
                    got if isinstance(got, list) else [got], strict=True):
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=2e-6 * scale)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_real_files_are_refused_with_their_reason(keras, name):
    folder = require_wild_models()
    error, reason = REFUSED[name]
    with pytest.raises(error, match=reason):
        symnet.explain(folder / name)


def test_every_real_model_file_is_accounted_for():
    folder = require_wild_models()
    files = {p.name for p in folder.iterdir() if p.suffix in (".h5", ".keras")}
    pairs = {p.name for p in folder.glob("*.json")}
    weights_of_pairs = {name.removesuffix(".json") + "_weights.h5" for name in pairs}
    known = set(EXPLAINED) | set(REFUSED) | set(KERAS_CANNOT)
    assert files - weights_of_pairs <= known
    assert (files - weights_of_pairs) - known == set()


@pytest.mark.parametrize("name", sorted(KERAS_CANNOT))
def test_files_keras_cannot_build_are_read_without_it(keras, name):
    folder = require_wild_models()
    assert symnet.explain(folder / name).param_count > 0
    with pytest.raises(ModelLoadError, match=KERAS_CANNOT[name]):
        symnet.explain(folder / name, reader="keras")


def test_a_legacy_input_shape_is_repaired_with_a_warning(keras):
    folder = require_wild_models()
    with pytest.warns(SymnetWarning, match=r"input shape \(28, 28\)"):
        net = symnet.explain(folder / "codeweek_cnn.h5", reader="keras")
    assert net.input_shapes == ((28, 28),)
    # the file reader reads the shape the file declares: no repair, the same network
    assert symnet.explain(folder / "codeweek_cnn.h5").input_shapes == ((28, 28),)
    assert [layer.kind for layer in net.layers][:3] == ["InputLayer", "Reshape", "Conv2D"]
