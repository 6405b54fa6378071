"""Reading ``.keras`` files without Keras (symnet.io.saved): the same network as Keras' reading,
for every layer and option that reader knows; Keras reads everything else; no TensorFlow."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import ModelLoadError
from symnet.examples import seed_regressor_path
from symnet.io.keras import file_layers
from symnet.io.saved import snake_case
from symnet.ops import ACTIVATIONS

from .conftest import WILD_MODELS, predict, randomize, require_wild_models


def same_network(a, b) -> None:
    """Two networks are one: names, shapes, ops, formulas, constants, every weight's bits."""
    ga, gb = a.graph, b.graph
    assert a.name == b.name and a.keras_layer_names == b.keras_layer_names
    assert (ga.inputs, ga.outputs, ga.shapes, ga.features, ga.targets) == (
        gb.inputs, gb.outputs, gb.shapes, gb.features, gb.targets)
    assert [(n.output, n.inputs, n.layer, type(n.op).__name__, n.op.describe())
            for n in ga.nodes] == [(n.output, n.inputs, n.layer, type(n.op).__name__,
                                    n.op.describe()) for n in gb.nodes]
    assert [(c.inputs, c.outputs, c.nodes, c.layer.name) for c in ga.calls] == [
        (c.inputs, c.outputs, c.nodes, c.layer.name) for c in gb.calls]
    assert len(ga.layers) == len(gb.layers)
    for la, lb in zip(ga.layers, gb.layers):
        assert (la.name, la.kind, la.note, la.input_shape, la.output_shape, la.is_input) == (
            lb.name, lb.kind, lb.note, lb.input_shape, lb.output_shape, lb.is_input)
        assert sp.srepr(la.formula) == sp.srepr(lb.formula)
        assert dict(la.constants) == dict(lb.constants)
        assert len(la.params) == len(lb.params)
        for pa, pb in zip(la.params, lb.params):
            assert (pa.name, pa.symbol, pa.trainable, pa.meaning, pa.weight) == (
                pb.name, pb.symbol, pb.trainable, pb.meaning, pb.weight)
            assert pa.value.dtype == pb.value.dtype and pa.value.tobytes() == pb.value.tobytes()


def both_readers(model, path: Path):
    """The file read without Keras and by Keras; checked to be one network, and to compute
    what ``model.predict`` does."""
    model.save(path)
    fast = symnet.explain(path, reader="file")
    slow = symnet.explain(path, reader="keras")
    same_network(fast, slow)
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(6, *shape)).astype(np.float32) for shape in fast.input_shapes]
    x = xs[0] if len(xs) == 1 else xs
    got, want = fast.evaluate(x), predict(model, x)
    for g, w in zip(got if isinstance(want, list) else [got],
                    want if isinstance(want, list) else [want]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return fast, slow


ACTIVATION_NAMES = sorted(ACTIVATIONS)


def sequential(keras, shape, *layers, name="m"):
    model = keras.Sequential([keras.Input(shape), *layers], name=name)
    randomize(model, seed=len(layers))
    return model


def test_every_activation_name_reads_as_keras_function_does(keras, tmp_path):
    """A saved activation name gives the op Keras' function for that name gives (aliases such
    as swish = silu included)."""
    from symnet.layers.core import resolve_activation

    class Ctx:  # what resolve_activation reads of a context
        layer = None

        def reject(self, why):
            return AssertionError(why)

    for name in ACTIVATION_NAMES:  # names of one Keras function read as one name
        canonical = resolve_activation(Ctx(), name)[0]
        assert keras.activations.get(canonical) is keras.activations.get(name)
        assert all(resolve_activation(Ctx(), other)[0] == canonical for other in ACTIVATION_NAMES
                   if keras.activations.get(other) is keras.activations.get(name))
    layers = [keras.layers.Dense(3, activation=name, name=f"d_{name}")
              for name in ACTIVATION_NAMES if name not in ("softmax", "log_softmax")]
    layers += [keras.layers.Activation("softmax"), keras.layers.Activation("log_softmax"),
               keras.layers.Activation("swish")]
    fast, _ = both_readers(sequential(keras, (3,), *layers), tmp_path / "acts.keras")
    assert {layer.constants["activation"] for layer in fast.layers} >= {"silu", "hard_silu"}


def test_snake_case_is_keras_own():
    from keras.src.utils import naming

    for kind in [*file_layers(), "InputLayer", "ReLU", "PReLU", "Conv2DTranspose"]:
        assert snake_case(kind) == naming.to_snake_case(kind)


@pytest.mark.parametrize("case", [
    "dense", "dense_no_bias", "dense_rank3", "batchnorm", "batchnorm_options", "batchnorm_axis1",
    "activations", "regularization", "frozen_layers", "frozen_model", "refrozen",
    "names_out_of_order", "functional_chain", "functional_refrozen", "skip_connection",
    "shared", "two_inputs_two_outputs", "merges", "concatenate_axis1", "diamond",
    "recurrent", "recurrent_states", "conv2d", "conv1d", "reshape", "normalization_adapted",
    "normalization_given", "normalizations_and_moves", "bidirectional", "bidirectional_states",
    "time_distributed", "frozen_wrappers", "attention", "attention_concat",
    "multi_head_attention"])
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_layers_and_options_read_as_keras_reads_them(keras, tmp_path, case):
    L = keras.layers
    models = {
        "dense": lambda: sequential(keras, (3,), L.Dense(5, activation="relu"), L.Dense(2)),
        "dense_no_bias": lambda: sequential(keras, (3,), L.Dense(4, use_bias=False,
                                                                 activation="tanh"), L.Dense(1)),
        "dense_rank3": lambda: sequential(keras, (2, 3), L.Dense(4, activation="relu"),
                                          L.Flatten(), L.Dense(2, activation="softmax")),
        "batchnorm": lambda: sequential(keras, (4,), L.Dense(6), L.BatchNormalization(),
                                        L.ReLU(), L.Dense(1)),
        "batchnorm_options": lambda: sequential(
            keras, (4,), L.BatchNormalization(center=False, epsilon=0.01),
            L.BatchNormalization(scale=False, momentum=0.5), L.BatchNormalization(
                center=False, scale=False), L.Dense(2)),
        "batchnorm_axis1": lambda: sequential(keras, (3, 4), L.BatchNormalization(axis=1),
                                              L.BatchNormalization(axis=-1), L.Flatten(),
                                              L.Dense(1)),
        "activations": lambda: sequential(
            keras, (4,), L.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.3),
            L.LeakyReLU(negative_slope=0.25), L.ELU(alpha=0.7), L.Dense(3),
            L.Softmax(axis=-1), L.Activation("linear")),
        "regularization": lambda: sequential(
            keras, (4,), L.Dropout(0.3), L.GaussianNoise(0.2), L.GaussianDropout(0.1),
            L.AlphaDropout(0.2), L.ActivityRegularization(l1=0.01), L.Dense(1)),
        "frozen_layers": lambda: _frozen(sequential(
            keras, (3,), L.Dense(4), L.BatchNormalization(), L.Dense(1)), [0, 1]),
        "frozen_model": lambda: _frozen(sequential(keras, (3,), L.Dense(4), L.Dense(1)), None),
        "names_out_of_order": lambda: sequential(
            keras, (3,), L.Dense(4, name="zeta", activation="relu"), L.Dense(4, name="alpha"),
            L.BatchNormalization(name="dense"), L.Dense(1, name="batch_normalization")),
        "functional_chain": lambda: _chain(keras, (2, 3), L.Dense(4, activation="relu"),
                                           L.BatchNormalization(), L.Flatten(), L.Dense(2)),
        # the model frozen, then one layer thawed: Keras reads each layer's own flag
        "refrozen": lambda: _thawed(sequential(keras, (3,), L.Dense(4), L.BatchNormalization(),
                                               L.Dense(1)), 0),
        "functional_refrozen": lambda: _thawed(_chain(keras, (3,), L.Dense(4), L.Dense(1)), 1),
        "skip_connection": lambda: _graph(keras, lambda a: L.Add()([a, L.Dense(
            3, activation="relu")(a)])),
        "shared": lambda: _shared(keras),
        "two_inputs_two_outputs": lambda: _two_by_two(keras),
        "merges": lambda: _graph(keras, lambda a: L.Dense(1)(L.Concatenate()([
            merge()([L.Dense(3, activation="tanh")(a), L.Dense(3)(a)]) for merge in (
                L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)]))),
        "concatenate_axis1": lambda: _graph(keras, lambda a: L.Flatten()(L.Concatenate(axis=1)(
            [L.Dense(2)(a), L.Dense(2, activation="relu")(a)])), shape=(2, 3)),
        "recurrent": lambda: sequential(
            keras, (5, 3), L.LSTM(4, return_sequences=True), L.GRU(3, return_sequences=True),
            L.GRU(3, reset_after=False, go_backwards=True, return_sequences=True),
            L.SimpleRNN(2, activation="relu"), L.Dense(1)),
        "normalization_adapted": lambda: _adapted(keras),
        "normalizations_and_moves": lambda: sequential(
            keras, (2, 4), L.LayerNormalization(), L.LayerNormalization(axis=[1, 2],
                                                                        center=False),
            L.LayerNormalization(rms_scaling=True), L.RMSNormalization(),
            L.PReLU(shared_axes=[1]), L.Permute((2, 1)), L.Flatten(), L.Dense(3),
            L.RepeatVector(2), L.Flatten(), L.Dense(1)),
        "normalization_given": lambda: sequential(
            keras, (3,), L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0]),
            L.Dense(1)),
        "conv2d": lambda: sequential(
            keras, (7, 6, 2), L.Conv2D(3, 3, strides=2, padding="same", activation="relu"),
            L.MaxPooling2D(2, padding="same"), L.Conv2D(4, (2, 1), dilation_rate=(1, 1),
                                                       use_bias=False),
            L.Flatten(), L.Dense(2)),
        "conv1d": lambda: sequential(
            keras, (9, 2), L.Conv1D(3, 3, padding="causal", dilation_rate=2),
            L.AveragePooling1D(2, strides=1), L.Conv1D(4, 2, strides=2, groups=1),
            L.GlobalMaxPooling1D(), L.Dense(1)),
        "reshape": lambda: sequential(keras, (12,), L.Reshape((3, -1)), L.Conv1D(2, 2),
                                      L.GlobalAveragePooling1D(keepdims=True), L.Flatten(),
                                      L.Dense(1)),
        "recurrent_states": lambda: _graph(keras, lambda a: (lambda out: L.Dense(2)(
            L.Concatenate()(list(out))))(L.LSTM(3, return_state=True, use_bias=False)(a)),
            shape=(4, 2)),
        "bidirectional": lambda: sequential(
            keras, (5, 3), L.Bidirectional(L.LSTM(4, return_sequences=True)),
            L.Bidirectional(L.GRU(3, return_sequences=True), backward_layer=L.GRU(
                3, go_backwards=True, reset_after=False, return_sequences=True,
                use_bias=False), merge_mode="sum"),
            L.Bidirectional(L.SimpleRNN(2, activation="relu", return_sequences=True),
                            merge_mode="mul"),
            L.Bidirectional(L.GRU(2), merge_mode="ave"), L.Dense(1)),
        "bidirectional_states": lambda: _graph(keras, lambda a: (lambda out: L.Dense(2)(
            L.Concatenate()(list(out))))(L.Bidirectional(L.LSTM(3, return_state=True),
                                                          merge_mode=None)(
            L.Bidirectional(L.GRU(2, return_sequences=True, return_state=True))(a)[0])),
            shape=(4, 2)),
        "time_distributed": lambda: sequential(
            keras, (4, 3), L.TimeDistributed(L.Dense(5, activation="tanh")),
            L.TimeDistributed(L.Dense(2, use_bias=False)), L.TimeDistributed(L.Dropout(0.2)),
            L.LSTM(3), L.RepeatVector(2), L.TimeDistributed(L.Dense(1)), L.Flatten()),
        "frozen_wrappers": lambda: _frozen(sequential(
            keras, (4, 3), L.TimeDistributed(L.Dense(3)), L.Bidirectional(L.GRU(2)),
            L.Dense(1)), [0, 1]),
        "multi_head_attention": lambda: _multi_head(keras),
        "attention": lambda: _attention(keras, "dot"),
        "attention_concat": lambda: _attention(keras, "concat"),
        "diamond": lambda: _graph(keras, lambda a: (lambda b: L.Add()([
            L.Dense(4, activation="relu")(b), L.BatchNormalization()(b)]))(L.Dense(4)(a))),
    }
    fast, slow = both_readers(models[case](), tmp_path / f"{case}.keras")
    assert fast.model is not None  # Keras loads the file on request
    if case in LEGACY_CASES:  # the same model saved as Keras 3 writes legacy HDF5
        fast, slow = both_readers(fast.model, tmp_path / f"{case}.h5")
    elif case == "attention":  # Keras 3 cannot read it; the config says what Keras 2 read
        fast.model.save(tmp_path / "attention.h5")
        with pytest.raises(symnet.SymnetError, match="score_mode"):
            symnet.explain(tmp_path / "attention.h5", reader="keras")
        same_network(symnet.explain(tmp_path / "attention.h5", reader="file"), slow)
    if len(fast.input_shapes) == 1:
        x = np.linspace(-1, 1, int(np.prod(fast.input_shapes[0]))).reshape(
            fast.input_shapes[0])
        assert fast.evaluate(x, "exact").tolist() == slow.evaluate(x, "exact").tolist()


LEGACY_CASES = {"dense", "batchnorm_options", "activations", "frozen_layers", "skip_connection",
                "shared", "two_inputs_two_outputs", "merges", "recurrent", "recurrent_states",
                "conv2d", "bidirectional", "bidirectional_states", "time_distributed",
                "frozen_wrappers", "attention_concat", "multi_head_attention"}


def _adapted(keras):
    layer = keras.layers.Normalization(axis=-1)
    model = sequential(keras, (2, 3), layer, keras.layers.Flatten(), keras.layers.Dense(1))
    layer.adapt(np.random.default_rng(2).normal(3.0, 2.0, size=(50, 2, 3)).astype(np.float32))
    return model


def _graph(keras, body, shape=(3,)):
    start = keras.Input(shape, name="features")
    model = keras.Model(start, body(start), name="graph")
    randomize(model, seed=5)
    return model


def _shared(keras):
    """A layer called twice (one formula, a symbol per call)."""
    L = keras.layers
    start, dense = keras.Input((3,)), L.Dense(3, activation="relu", name="shared")
    model = keras.Model(start, L.Dense(1)(L.Add()([dense(start), dense(dense(start))])))
    randomize(model, seed=6)
    return model


def _two_by_two(keras):
    L = keras.layers
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = L.Concatenate()([L.Dense(4, activation="relu")(a), b])
    model = keras.Model([a, b], [L.Dense(1, name="first")(joined),
                                 L.Dense(2, activation="softmax", name="second")(joined)])
    randomize(model, seed=7)
    return model


def _attention(keras, mode):
    """Attention of each kind on a query, a value and a key (Keras 3 cannot read a legacy
    file's score_mode="dot": its legacy reader takes "dot" for keras.ops.dot)."""
    L = keras.layers
    q, v, k = keras.Input((4, 3), name="q"), keras.Input((5, 2), name="v"), keras.Input(
        (5, 3), name="k")
    scores = [L.Attention(use_scale=True, score_mode=mode)([q, v, k], use_causal_mask=True),
              L.Attention(use_scale=False, score_mode="concat")([q, v, k]),
              L.AdditiveAttention()([q, v, k]), L.AdditiveAttention(use_scale=False)([q, k])]
    outputs = [L.Dense(1)(L.Flatten()(L.Concatenate()(scores[:3]))), scores[3]]
    if mode == "dot":
        outputs.append(L.Attention()([L.Dense(2)(q), v]))
    model = keras.Model([q, v, k], outputs, name="attention")
    randomize(model, seed=9)
    return model


def _multi_head(keras):
    """MultiHeadAttention called on a query and a value, on a query, value and key of other
    widths, without biases, with a value_dim, and on the query alone (causal
    self-attention)."""
    L = keras.layers
    q, v, k = keras.Input((4, 3), name="q"), keras.Input((5, 2), name="v"), keras.Input(
        (5, 3), name="k")
    outputs = [L.MultiHeadAttention(2, 3, name="mha")(q, v),
               L.MultiHeadAttention(3, 2, value_dim=4, use_bias=False)(q, v, k),
               L.MultiHeadAttention(1, 2)(q, q, use_causal_mask=True)]
    model = keras.Model([q, v, k], [L.Add()(outputs[::2]), outputs[1]], name="heads")
    randomize(model, seed=10)
    return model


def _chain(keras, shape, *layers):
    x = start = keras.Input(shape, name="features")
    for layer in layers:
        x = layer(x)
    model = keras.Model(start, x, name="chain")
    randomize(model, seed=3)
    return model


def _thawed(model, index):
    model.trainable = False
    model.layers[index].trainable = True
    return model


def _frozen(model, layers):
    if layers is None:
        model.trainable = False
    else:
        for i in layers:
            model.layers[i].trainable = False
    return model


@pytest.mark.parametrize("case", ["lora", "renorm", "float64", "float64_operation",
                                  "operation_of_integers"])
def test_other_models_are_read_by_keras(keras, tmp_path, case):
    """What the file reader does not know exactly is Keras' to read: ``auto`` gives Keras'
    reading, ``file`` says why it cannot. (Keras operations the file reader reads:
    tests/test_saved_operations.py.)"""
    L = keras.layers
    if case == "lora":
        model = sequential(keras, (3,), L.Dense(4), L.Dense(1))
        model.layers[0].enable_lora(2)
    elif case == "renorm":
        model = sequential(keras, (3,), L.BatchNormalization(renorm=True), L.Dense(1))
    elif case == "float64":
        model = sequential(keras, (3,), L.Dense(4, dtype="float64"), L.Dense(1))
    elif case == "float64_operation":  # Keras computes x + c in float64
        start = keras.Input((3,))
        model = keras.Model(start, L.Dense(1)(keras.ops.add(start, np.ones(3, np.float64))))
    elif case == "operation_of_integers":  # an Embedding's indices, shifted by an operation
        start = keras.Input((3,), dtype="int32")
        model = keras.Model(start, L.Flatten()(L.Embedding(7, 2)(start + 1)))
    else:
        model = sequential(keras, (3,), L.Dense(4), L.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(ModelLoadError, match="without Keras"):
        symnet.explain(path, reader="file")
    try:
        auto = symnet.explain(path)
    except symnet.SymnetError as exc:  # what Keras' reading says of it, the same either way
        with pytest.raises(type(exc)):
            symnet.explain(path, reader="keras")
        return
    assert auto._model is not None  # read by Keras
    same_network(auto, symnet.explain(path, reader="keras"))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_embeddings_of_integer_inputs_read_as_keras_reads_them(keras, tmp_path, suffix):
    L = keras.layers
    words, numbers = keras.Input((3,), dtype="int32", name="words"), keras.Input((2,))
    looked = L.Flatten()(L.Embedding(7, 2, name="table")(words))
    model = keras.Model([words, numbers], L.Dense(1)(L.Concatenate()([looked, numbers])))
    randomize(model, 4)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    fast = symnet.explain(path, reader="file")
    same_network(fast, symnet.explain(path, reader="keras"))
    x = [np.array([[0, 6, 3], [2, 2, 5]], np.int32), np.array([[0.5, -1.0], [2.0, 0.25]],
                                                              np.float32)]
    np.testing.assert_allclose(fast.evaluate(x), predict(model, x), rtol=1e-5, atol=1e-6)


def test_an_activation_serialized_as_an_object_reads_as_keras_reads_it(keras, tmp_path):
    model = sequential(keras, (3,), keras.layers.Dense(4), keras.layers.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)
    _edit_config(path, lambda c: c["config"]["layers"][1]["config"].update(activation={
        "module": "keras.activations", "class_name": "function", "config": "relu",
        "registered_name": "function"}))
    fast = symnet.explain(path, reader="file")
    same_network(fast, symnet.explain(path, reader="keras"))
    assert fast.layers[0].constants["activation"] == "relu"


def _edited(source: Path, target: Path, edit) -> Path:
    """A .keras archive with its config.json edited (as a file not written by Keras)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _edit_config(path: Path, edit) -> None:
    """The .keras archive at ``path`` with its config.json edited in place."""
    _edited(path, path, edit)


def _edit_weights(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    weights = path.with_suffix(".h5")
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "r+") as handle:
        edit(handle)
    members["model.weights.h5"] = weights.read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("tamper", ["swap_groups", "extra_variable", "renamed", "missing",
                                    "soft_link", "external_link", "external_data",
                                    "virtual_data", "compressed", "dtype_attribute"])
def test_weights_that_do_not_fit_the_config_are_not_guessed(keras, tmp_path, tamper):
    """Weights stored under other groups, with another count or naming another layer: the file
    reader does not guess which is which."""
    model = sequential(keras, (3,), keras.layers.Dense(3, name="a"),
                       keras.layers.Dense(3, name="b"), keras.layers.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.array([1.5, -2.25, 3.0], np.float32).tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        group = handle.create_group("g/vars")
        group["0"], group["1"] = np.full((3, 3), 9, np.float32), np.full(3, 9, np.float32)

    def edit(handle):
        layers = handle["layers"]
        variables = layers["dense_1/vars"]
        if tamper == "soft_link":
            del variables["0"]
            variables["0"] = h5py.SoftLink("/layers/dense/vars/0")
        elif tamper == "external_link":
            del layers["dense_1"]
            layers["dense_1"] = h5py.ExternalLink(str(other), "/g")
        elif tamper == "external_data":  # a file of the machine read as a bias
            del variables["1"]
            variables.create_dataset("1", shape=(3,), dtype="<f4",
                                     external=[(str(secret), 0, 12)])
        elif tamper == "virtual_data":
            del variables["1"]
            layout = h5py.VirtualLayout(shape=(3,), dtype="<f4")
            layout[:] = h5py.VirtualSource(".", "/layers/dense/vars/1", shape=(3,))
            variables.create_virtual_dataset("1", layout)
        elif tamper == "compressed":
            data = variables["0"][()]
            del variables["0"]
            variables.create_dataset("0", data=data, compression="gzip")
        elif tamper == "dtype_attribute":
            variables["0"].attrs["dtype"] = "bfloat16"
        elif tamper == "swap_groups":
            layers.move("dense", "tmp")
            layers.move("dense_1", "dense")
            layers.move("tmp", "dense_1")
        elif tamper == "extra_variable":
            layers["dense/vars"].create_dataset("2", data=np.zeros(3, np.float32))
        elif tamper == "renamed":
            layers["dense/vars"].attrs["name"] = "c"
        else:
            del layers["dense_2"]

    _edit_weights(path, edit)
    with pytest.raises(ModelLoadError, match="without Keras"):
        symnet.explain(path, reader="file")
    try:  # Keras' reading decides, as for any file the file reader leaves
        net = symnet.explain(path)
    except symnet.SymnetError:
        return
    assert net._model is not None
    bias = [p.value for layer in net.layers if layer.name == "b" for p in layer.params
            if p.name == "bias"]
    assert not np.array_equal(bias[0], [1.5, -2.25, 3.0])


@pytest.mark.parametrize("tamper", ["no_backward", "same_direction", "other_class",
                                    "unknown_wrapped", "wrapped_wrapper", "swapped_directions",
                                    "extra_variable", "stray_group", "legacy_renamed",
                                    "legacy_count", "mha_mask", "mha_extra_variable"])
def test_wrappers_that_do_not_fit_are_not_guessed(keras, tmp_path, tamper):
    """A Bidirectional or TimeDistributed whose wrapped layers or their weights are not what
    Keras writes: refused by name, never read another way."""
    L = keras.layers
    model = sequential(keras, (4, 3), L.TimeDistributed(L.Dense(3), name="td"),
                       L.Bidirectional(L.GRU(2, name="gru_f"), backward_layer=L.GRU(
                           2, go_backwards=True, use_bias=False, name="back"), name="bi"),
                       L.Dense(1))
    if tamper.startswith("mha"):
        q = keras.Input((4, 3))
        model = keras.Model(q, L.MultiHeadAttention(2, 2)(q, q))
    legacy = tamper.startswith("legacy")
    path = tmp_path / ("m.h5" if legacy else "m.keras")
    model.save(path)
    symnet.explain(path, reader="file")  # read as saved

    def config(edit):
        def change(config):
            layers = config["config"]["layers"]
            edit(layers[1]["config"], layers[2]["config"])
        return change

    if tamper == "no_backward":
        _edit_config(path, config(lambda td, bi: bi.pop("backward_layer")))
    elif tamper == "same_direction":
        _edit_config(path, config(lambda td, bi: bi["backward_layer"]["config"].update(
            go_backwards=False)))
    elif tamper == "other_class":
        _edit_config(path, config(lambda td, bi: bi["backward_layer"].update(
            class_name="LSTM")))
    elif tamper == "unknown_wrapped":
        _edit_config(path, config(lambda td, bi: td["layer"].update(
            class_name="EinsumDense")))
    elif tamper == "wrapped_wrapper":
        _edit_config(path, config(lambda td, bi: td.update(layer={
            "module": "keras.layers", "class_name": "TimeDistributed",
            "config": dict(td, name="inner"), "registered_name": None})))
    elif tamper == "swapped_directions":
        def swap(handle):
            group = handle["layers/bidirectional"]
            group.move("forward_layer", "tmp")
            group.move("backward_layer", "forward_layer")
            group.move("tmp", "backward_layer")
        _edit_weights(path, swap)
    elif tamper == "extra_variable":
        _edit_weights(path, lambda handle: handle[
            "layers/time_distributed/layer/vars"].create_dataset("2", data=np.zeros(
                3, np.float32)))
    elif tamper == "mha_extra_variable":
        _edit_weights(path, lambda handle: handle[
            "layers/multi_head_attention/_softmax/vars"].create_dataset("0", data=np.zeros(
                3, np.float32)))
    elif tamper == "mha_mask":  # a mask passed to the call
        def mask(config):
            node = config["config"]["layers"][1]["inbound_nodes"][0]
            node["kwargs"]["query_mask"] = node["args"][0]
        _edit_config(path, mask)
    elif tamper == "stray_group":
        _edit_weights(path, lambda handle: handle[
            "layers/bidirectional"].create_group("other_layer/vars"))
    else:
        with h5py.File(path, "r+") as handle:
            group = handle["model_weights/bi"]
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in group.attrs["weight_names"]]
            if tamper == "legacy_renamed":  # the forward layer's variables named backward
                names = [n.replace("forward_gru_f", "back") for n in names]
            else:
                names = names[:-1]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
    # a wrapped class symnet does not convert is refused by the config's scan, by name
    with pytest.raises(symnet.SymnetError, match="EinsumDense" if tamper == "unknown_wrapped"
                       else "without Keras"):
        symnet.explain(path, reader="file")


def _set_option(index: int, key: str, value=None, remove: bool = False):
    def edit(config):
        options = config["config"]["layers"][index]["config"]
        if remove:
            del options[key]
        else:
            options[key] = value
    return edit


@pytest.mark.parametrize("case", [
    ("relu_negative_slope", 1, "negative_slope", -0.5, False),
    ("leaky_negative_slope", 2, "negative_slope", -0.5, False),
    ("leaky_no_slope", 2, "negative_slope", None, True),
    ("activation_missing", 3, "activation", None, True),
    ("bn_axis_list", 4, "axis", [1], False),
    ("bn_no_epsilon", 4, "epsilon", None, True),
    ("bn_momentum_none", 4, "momentum", None, False),
    ("dense_units_text", 5, "units", "1", False)], ids=lambda c: c[0])
def test_options_keras_would_refuse_or_default_are_left_to_keras(keras, tmp_path, case):
    """An option missing (Keras puts its default) or one Keras refuses: the file reader does
    not decide what it means."""
    _, index, key, value, remove = case
    L = keras.layers
    model = sequential(keras, (3,), L.ReLU(), L.LeakyReLU(0.2), L.Activation("relu"),
                       L.BatchNormalization(), L.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)
    _edit_config(path, _set_option(index, key, value, remove))
    with pytest.raises(ModelLoadError, match="without Keras"):
        symnet.explain(path, reader="file")


def test_model_is_loaded_by_keras_only_from_the_file_read(keras, tmp_path):
    model = sequential(keras, (2,), keras.layers.Dense(3, activation="relu"),
                       keras.layers.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)
    net = symnet.explain(path)
    assert net._model is None  # read without Keras
    report = net.report("text", [0.5, -1.0])
    assert "identical to model.predict" in report or "largest difference from model.predict" \
        in report
    assert net._model is not None
    again = symnet.explain(path)
    other = sequential(keras, (2,), keras.layers.Dense(3), keras.layers.Dense(1))
    other.save(path)
    with pytest.raises(ModelLoadError, match="has changed"):
        again.model  # noqa: B018
    clone = pickle.loads(pickle.dumps(symnet.explain(path)))
    assert clone.model is None
    assert clone.keras_layer_names == tuple(layer.name for layer in other.layers)


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300, check=True)


def test_why_and_check_do_not_import_tensorflow():
    """The CLI's why and check on the bundled regressor never import Keras or TensorFlow, and
    answer as Keras' reading does."""
    model = str(seed_regressor_path())
    code = ("import sys; from symnet.cli import main; code = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'; "
            "sys.exit(code)")
    fast = _run(code, "why", model, "--input", "10", "--target", "2*x + 5")
    slow = _run(code.replace("assert", "pass #"), "why", model, "--input", "10", "--target",
                "2*x + 5", "--reader", "keras")
    assert fast.stdout == slow.stdout and "25.00466" in fast.stdout
    checked = subprocess.run([sys.executable, "-c", code, "check", model, "--input", "10",
                              "--answer", "20.475"], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 1 and "imported" not in checked.stderr
    assert "ReLU" in checked.stdout or "relu" in checked.stdout.lower()


def test_cli_keeps_tensorflow_start_up_logs_back(tmp_path):
    """``symnet explain`` imports TensorFlow for the agreement line; TensorFlow's native logs
    do not reach the user's terminal."""
    done = subprocess.run([sys.executable, "-m", "symnet", "explain",
                           str(seed_regressor_path()), "--input", "10"],
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.returncode == 0 and "model.predict" in done.stdout
    assert done.stderr == ""


#: The real models the file reader reads (.keras of Keras 3, HDF5 of Keras 2.2 to 3.13).
READ_WITHOUT_KERAS = {
    "airquality_lstm_bn.keras", "astro_leahcim.keras", "datausage_lstm.keras",
    "diabetes_123cryptic.keras", "ferrari_amiya.keras", "flownet_2mdtln.keras",
    "mpg_rahulb.keras", "mpg_vasanth.keras", "nyhouse_ahmed.keras", "obesity_abdallah.keras",
    "rain_arj010.keras", "admission_anindasau.h5", "charity_17keerti.h5", "churn_ankit.h5",
    "codeweek_cnn.h5", "fraud_ae_asterios.h5", "fraud_ae_dino.h5", "friction_2024rock.h5",
    "homl_arachneee.h5", "homl_custom_loss.h5", "houseprice_qiu.h5", "malgan_detector.h5",
    "malgan_generator.h5", "rain_arj010.h5", "shm_ae_aditvedi.h5", "smartbuilding_lstm.h5",
    "wide_and_deep.h5", "gan1d_nakahatar.h5", "malgan_combined.h5"}


def test_real_models_read_without_keras_are_keras_reading(keras):
    """Every real model of wild-models the file reader takes is the network Keras reads: every
    formula, weight, name and flag."""
    require_wild_models()
    taken = []
    for path in sorted([*WILD_MODELS.glob("*.keras"), *WILD_MODELS.glob("*.h5")]):
        try:
            fast = symnet.explain(path, reader="file")
        except symnet.SymnetError:
            continue
        if path.name == "homl_model_A.h5":  # Keras 3 cannot read it (see the test below)
            continue
        same_network(fast, symnet.explain(path, reader="keras"))
        taken.append(path.name)
    assert set(taken) == READ_WITHOUT_KERAS


def test_a_keras_2_file_keras_3_cannot_read_is_read_as_its_config_says():
    """homl_model_A.h5 (Keras 2.3: Flatten on (28, 28) declared on the first layer, six Dense
    layers): Keras 3 cannot build it; its config is unambiguous, and the file reader's network
    computes what numpy computes from the file's own arrays."""
    require_wild_models()
    path = WILD_MODELS / "homl_model_A.h5"
    net = symnet.explain(path, reader="file")
    assert net.input_shapes == ((28, 28),)
    with h5py.File(path) as handle:
        config = json.loads(handle.attrs["model_config"])
        group = handle["model_weights"]
        dense = [layer["config"] for layer in config["config"]["layers"]
                 if layer["class_name"] == "Dense"]
        arrays = [(group[c["name"]][c["name"]]["kernel:0"][()],
                   group[c["name"]][c["name"]]["bias:0"][()], c["activation"]) for c in dense]
    x = np.random.default_rng(0).uniform(0, 1, (5, 28, 28)).astype(np.float64)
    h = x.reshape(5, -1)
    for kernel, bias, activation in arrays:
        h = h @ kernel.astype(np.float64) + bias
        if activation == "selu":
            h = 1.0507009873554805 * np.where(h > 0, h, 1.6732632423543772 * np.expm1(h))
        else:
            assert activation == "softmax"
            h = np.exp(h - h.max(axis=1, keepdims=True))
            h /= h.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.evaluate(x, "float64"), h, rtol=1e-10, atol=1e-12)
    with pytest.raises(ModelLoadError):
        symnet.explain(path, reader="keras")


def test_options_keras_settles_between_two_keys_or_a_default(keras, tmp_path):
    """Configs Keras would not write but reads: a Keras 2 ``alpha`` beside ``negative_slope``
    (alpha wins), ``batch_input_shape`` beside ``batch_shape`` (it wins), ``data_format:
    null`` (Keras' global image_data_format). The file reader reads each as Keras does."""
    L = keras.layers
    model = keras.Sequential([keras.Input((4, 3)), L.Dense(2), L.LeakyReLU(0.1),
                              L.Flatten()], name="settled")
    randomize(model, 3)
    model.save(tmp_path / "plain.keras")

    def edit(config):
        layers = config["config"]["layers"]
        layers[0]["config"]["batch_input_shape"] = [None, 4, 3]
        layers[0]["config"]["batch_shape"] = [None, 2, 3]
        layers[2]["config"]["alpha"] = 0.9
        layers[3]["config"]["data_format"] = None

    path = _edited(tmp_path / "plain.keras", tmp_path / "edited.keras", edit)
    x = np.random.default_rng(4).normal(size=(5, 4, 3)).astype(np.float32)
    old = keras.config.image_data_format()
    try:
        for data_format in ("channels_last", "channels_first"):
            keras.config.set_image_data_format(data_format)
            want = keras.saving.load_model(path, compile=False).predict(x, verbose=0)
            net = symnet.explain(path, reader="file")
            assert net.graph.shapes[net.graph.inputs[0]] == (4, 3)
            np.testing.assert_allclose(net.evaluate(x), want, rtol=1e-6, atol=1e-6)
    finally:
        keras.config.set_image_data_format(old)


def test_a_config_listing_its_layers_out_of_keras_order_is_left_to_keras(keras, tmp_path):
    """Keras hands a file's weight groups to model.layers in its own order (depth, then a walk
    from the outputs), not the config's: two parallel branches listed the other way round in
    an edited config are refused by the file reader (naming both orders) and read by Keras
    under reader="auto" — never the swapped network."""
    L = keras.layers
    x = keras.Input((3,), name="a")
    left, right = L.Dense(2, name="left")(x), L.Dense(2, name="right")(x)
    model = keras.Model(x, L.Subtract(name="subtract")([left, right]), name="branches")
    randomize(model, 6)
    model.save(tmp_path / "plain.keras")

    def swap(config):
        layers = config["config"]["layers"]
        layers[1], layers[2] = layers[2], layers[1]

    path = _edited(tmp_path / "plain.keras", tmp_path / "swapped.keras", swap)
    assert symnet.explain(tmp_path / "plain.keras", reader="file") is not None
    with pytest.raises(ModelLoadError, match="another order than Keras' model.layers"):
        symnet.explain(path, reader="file")
    data = np.random.default_rng(7).normal(size=(4, 3)).astype(np.float32)
    want = keras.saving.load_model(path, compile=False).predict(data, verbose=0)
    np.testing.assert_allclose(symnet.explain(path, reader="auto").evaluate(data), want,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, key, value", [("SimpleRNN", "reset_after", True),
                                              ("SimpleRNN", "recurrent_activation", "tanh"),
                                              ("GRU", "unit_forget_bias", True),
                                              ("LSTM", "reset_after", False)])
def test_a_recurrent_option_its_class_does_not_take_is_left_to_keras(keras, tmp_path, kind,
                                                                    key, value):
    """Keras refuses a recurrent class's option it does not take (``reset_after`` is a GRU's):
    so does the file reader, by name."""
    model = sequential(keras, (4, 2), getattr(keras.layers, kind)(3), keras.layers.Dense(1))
    path = tmp_path / "m.keras"
    model.save(path)
    _edit_config(path, _set_option(1, key, value))
    with pytest.raises(ModelLoadError, match=f"without Keras.*{key}"):
        symnet.explain(path, reader="file")
    with pytest.raises(symnet.SymnetError):
        symnet.explain(path, reader="keras")
