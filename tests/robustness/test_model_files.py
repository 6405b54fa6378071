"""Hostile and broken model files: every one refused before Keras reads it, with one
``symnet: error:`` line naming what was received, never a traceback; and hypothesis writing
malformed configs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet.cli import main
from symnet.errors import ModelLoadError
from symnet.io import checks

EXAMPLE = Path(symnet.__file__).parent / "examples" / "regressor_2x_plus_5.keras"


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(EXAMPLE) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _archive(path: Path, config: object = None, *, extra: dict[str, bytes] | None = None,
             text: str | None = None, compression: int = zipfile.ZIP_STORED) -> Path:
    members = _members()
    if text is not None:
        members["config.json"] = text.encode()
    elif config is not None:
        members["config.json"] = json.dumps(config).encode()
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _config() -> dict:
    return json.loads(_members()["config.json"])


def _refused(path: Path, capsys, *words: str) -> str:
    """The CLI refuses the file: exit 2, one line, no traceback, naming ``words``."""
    code = main(["explain", str(path)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("symnet: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _mutated(change) -> dict:
    config = _config()
    change(config)
    return config


SHAPES = {
    "layers a string": (lambda c: c["config"].__setitem__("layers", "dense"), "'layers'"),
    "layers ints": (lambda c: c["config"].__setitem__("layers", [1, 2, 3]), "received int"),
    "layers lists": (lambda c: c["config"].__setitem__("layers", [[1], [2]]), "received list"),
    "layers missing": (lambda c: c["config"].pop("layers"), "'layers'"),
    "class_name a list": (lambda c: c["config"]["layers"][1].__setitem__("class_name",
                                                                         ["Dense"]),
                          "'class_name'"),
    "top class_name a number": (lambda c: c.__setitem__("class_name", 3), "'class_name'"),
    "config a string": (lambda c: c["config"]["layers"][1].__setitem__("config", "x"),
                        "'config'"),
    "name a dict": (lambda c: c["config"]["layers"][1]["config"].__setitem__("name", {}),
                    "'name'"),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_config_of_the_wrong_shape_is_refused_by_name(case, tmp_path, capsys):
    change, word = SHAPES[case]
    _refused(_archive(tmp_path / "m.keras", _mutated(change)), capsys, word)


def test_deeply_nested_json_is_refused_without_recursion(tmp_path, capsys):
    text = "[" * 100_000 + "]" * 100_000
    _refused(_archive(tmp_path / "deep.keras", text=text), capsys, "nests 100,000 levels")


def test_json_depth_skips_brackets_in_strings():
    assert checks.json_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3


def test_config_bomb_is_refused_before_it_is_decompressed(tmp_path, capsys):
    # 80 MiB of spaces deflate to ~80 kB; only the declared size is read
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in _members().items():
            if name != "config.json":
                archive.writestr(name, data)
        with archive.open("config.json", "w", force_zip64=True) as handle:
            chunk = b" " * (1 << 20)
            for _ in range(80):
                handle.write(chunk)
    assert path.stat().st_size < 2_000_000
    _refused(path, capsys, "config.json", "over the limit")


def test_weights_bomb_is_refused_by_its_inflation(tmp_path, capsys):
    path = tmp_path / "wbomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in _members().items():
            if name != "model.weights.h5":
                archive.writestr(name, data)
        archive.writestr("model.weights.h5", b"\0" * (50 << 20))
    _refused(path, capsys, "model.weights.h5", "decompression bomb")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:\\x",
                                  "..\\up"])
def test_member_names_that_are_paths_are_refused(name, tmp_path, capsys):
    path = _archive(tmp_path / "slip.keras", extra={name: b"x"})
    _refused(path, capsys, "path out of its folder")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_declared_units_past_the_weights_are_refused_before_keras_builds(tmp_path, capsys):
    config = _mutated(lambda c: c["config"]["layers"][1]["config"].__setitem__(
        "units", 600_000_000))
    line = _refused(_archive(tmp_path / "huge.keras", config), capsys, "units=600000000")
    assert "weights hold" in line


def test_declared_parameters_over_the_limit(tmp_path):
    config = _mutated(lambda c: c["config"]["layers"][1]["config"].__setitem__(
        "units", checks.MAX_PARAMETERS + 1))
    with pytest.raises(ModelLoadError, match="over the limit"):
        symnet.explain(_archive(tmp_path / "huger.keras", config))


def test_the_real_example_still_loads():
    assert symnet.explain(EXAMPLE).param_count == 49


# --- hypothesis: malformed configs -------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@st.composite
def malformed_configs(draw):
    """The example's config with one part replaced by arbitrary JSON."""
    config = _config()
    target = draw(st.sampled_from(["top", "model", "layers", "layer", "layer_config",
                                   "field"]))
    junk = draw(_json)
    layers = config["config"]["layers"]
    if target == "top":
        config = junk
    elif target == "model":
        config["config"] = junk
    elif target == "layers":
        config["config"]["layers"] = junk
    elif target == "layer":
        layers[draw(st.integers(0, len(layers) - 1))] = junk
    elif target == "layer_config":
        layers[draw(st.integers(0, len(layers) - 1))]["config"] = junk
    else:
        layer = layers[draw(st.integers(0, len(layers) - 1))]
        key = draw(st.sampled_from(["class_name", "module", "registered_name", "name",
                                    "units", "activation", "build_config"]))
        (layer if key in ("class_name", "module", "registered_name", "build_config")
         else layer["config"])[key] = junk
    return config


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=malformed_configs())
def test_malformed_configs_are_loaded_or_refused_by_name(config, tmp_path_factory):
    path = _archive(tmp_path_factory.mktemp("h") / "m.keras", config)
    try:
        net = symnet.explain(path)
    except symnet.SymnetError as exc:
        text = str(exc)
        assert text and "Traceback" not in text
    else:  # a change Keras accepts (a name, an activation it knows) gives a working network
        assert net.evaluate(1.0).shape == (1, 1)
