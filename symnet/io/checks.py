"""What a model file must be before anything in it is believed: checks on the bytes, the
JSON and the config's shape, made before Keras reads a byte of it.

Limits (documented in ``docs/limits.md``):

- a ``.keras`` archive's members are read by their fixed names only (``config.json``,
  ``metadata.json``, ``model.weights.h5``), never used as paths; an archive whose member names
  are absolute, go up (``..``) or repeat is refused;
- each member's declared size (``ZipInfo.file_size``) is checked before it is decompressed:
  ``config.json`` and ``metadata.json`` at most :data:`MAX_CONFIG_BYTES`, the weights at most
  :data:`MAX_WEIGHTS_BYTES`, and no member inflates more than :data:`MAX_INFLATION` times;
- the config's JSON nests at most :data:`MAX_JSON_DEPTH` levels;
- the config has the shape of a Keras config (``class_name`` a string, ``config`` an object,
  a model's ``layers`` a list of layer configs), checked layer by layer;
- the parameters its layers declare (``units``, ``filters``...) are counted from below before
  Keras builds anything: at most :data:`MAX_PARAMETERS`, and never more than the weights the
  file holds could store.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ModelLoadError

__all__ = ["MAX_CONFIG_BYTES", "MAX_INFLATION", "MAX_JSON_DEPTH", "MAX_PARAMETERS",
           "MAX_WEIGHTS_BYTES", "check_archive", "check_parameters", "check_shape",
           "parse_config", "read_member"]

MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""``config.json`` (and the HDF5 ``model_config``) at most 64 MiB: a model of 5,000 layers
writes about 4 MiB."""
MAX_WEIGHTS_BYTES = 16 * 1024**3
"""``model.weights.h5`` at most 16 GiB (4 billion float32 weights)."""
MAX_INFLATION = 200
"""A member may decompress to at most 200 times its stored size (Keras stores members
uncompressed; float weights compress by less than 2)."""
MAX_JSON_DEPTH = 256
"""Nesting of the config's JSON: a Keras config nests about 8 levels per nested model."""
MAX_PARAMETERS = 4_000_000_000
"""Parameters a config may declare (counted from below): a float32 weight each, 16 GiB."""

_KNOWN_MEMBERS = ("config.json", "metadata.json", "model.weights.h5", "assets")


def _refuse(path: str, why: str) -> ModelLoadError:
    return ModelLoadError(f"cannot read model file {path!r}: {why}")


def check_archive(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse an archive whose member names could be paths out of a folder, or whose members
    declare sizes past the limits (nothing is decompressed here)."""
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise _refuse(path, f"the archive holds a member named {name[:120]!r}, a path out "
                          "of its folder; a .keras file holds config.json, metadata.json and "
                          "model.weights.h5")
        if name in seen:
            raise _refuse(path, f"the archive holds two members named {name[:120]!r}")
        seen.add(name)
        limit = MAX_WEIGHTS_BYTES if name == "model.weights.h5" else MAX_CONFIG_BYTES
        if info.file_size > limit:
            raise _refuse(path, f"member {name[:120]!r} declares {info.file_size:,} bytes, "
                          f"over the limit of {limit:,}")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_INFLATION * max(
                info.compress_size, 1):
            raise _refuse(path, f"member {name[:120]!r} inflates {info.compress_size:,} bytes "
                          f"into {info.file_size:,} (over {MAX_INFLATION} times): a "
                          "decompression bomb, not a Keras archive")


def read_member(archive: zipfile.ZipFile, name: str, path: str,
                limit: int = MAX_CONFIG_BYTES) -> bytes:
    """One member's bytes, read by its fixed name, never more than ``limit`` of them (the
    declared size is checked first, and the read is bounded whatever it declares)."""
    info = archive.getinfo(name)  # KeyError when it is missing: the caller says so
    if info.file_size > limit:
        raise _refuse(path, f"member {name!r} declares {info.file_size:,} bytes, over the "
                      f"limit of {limit:,}")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _refuse(path, f"member {name!r} holds more than {limit:,} bytes")
    return data


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (strings skipped), found without
    recursion."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    codes = np.frombuffer(bare.encode("utf-8", "replace"), dtype=np.uint8)
    steps = np.zeros(codes.shape, dtype=np.int64)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def parse_config(text: str, path: str) -> Any:
    """The config's JSON, its size and depth bounded before it is parsed."""
    if len(text) > MAX_CONFIG_BYTES:
        raise _refuse(path, f"its config holds {len(text):,} characters, over the limit of "
                      f"{MAX_CONFIG_BYTES:,}")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _refuse(path, f"its config nests {depth:,} levels deep, over the limit of "
                      f"{MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _refuse(path, f"its config is not valid JSON ({str(exc)[:120]})") from None


_MODEL_CLASSES = {"Sequential", "Functional", "Model"}


def _described(value: Any) -> str:
    text = json.dumps(value, default=str)[:60] if not isinstance(value, str) else repr(value[:60])
    return f"{type(value).__name__} {text}"


def _configs(config: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every layer config in the model config, nested models' included, each checked for
    shape; as (where, config). Iterative: no recursion on a hostile depth."""
    stack: list[tuple[str, Any]] = [("the model", config)]
    while stack:
        where, item = stack.pop()
        if not isinstance(item, dict):
            raise _refuse(path, f"{where}: expected a layer config (a JSON object), received "
                          f"{_described(item)}")
        kind = item.get("class_name")
        if not isinstance(kind, str):
            raise _refuse(path, f"{where}: expected 'class_name' to be a string, received "
                          f"{_described(kind)}")
        inner = item.get("config")
        if kind in _MODEL_CLASSES and isinstance(inner, list):
            layers = inner  # Keras 2.0-2.2 Sequential: refused by name later
        else:
            if not isinstance(inner, dict):
                raise _refuse(path, f"{where} ({kind}): expected 'config' to be an object, "
                              f"received {_described(inner)}")
            name = inner.get("name")
            if name is not None and not isinstance(name, str):
                raise _refuse(path, f"{where} ({kind}): expected 'name' to be a string, "
                              f"received {_described(name)}")
            layers = inner.get("layers") if kind in _MODEL_CLASSES else None
            if kind in _MODEL_CLASSES and not isinstance(layers, list):
                raise _refuse(path, f"{where} ({kind}): expected 'layers' to be a list of "
                              f"layer configs, received {_described(layers)}")
        yield where, item
        for i, layer in reversed(list(enumerate(layers or []))):
            label = layer.get("config", {}).get("name") if isinstance(layer, dict) and \
                isinstance(layer.get("config"), dict) else None
            shown = f"layer {label!r}" if isinstance(label, str) else f"layer {i}"
            stack.append((shown if where == "the model" else f"{where}/{shown}", layer))


def check_shape(config: Any, path: str) -> None:
    """Refuse a config that does not have the shape of a Keras config, naming where."""
    for _ in _configs(config, path):
        pass


_WIDTH_KEYS = ("units", "filters", "output_dim", "num_heads", "key_dim", "input_dim")


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if value >= 1 else None


def parameters_from_below(config: Any, path: str) -> tuple[int, str]:
    """A lower bound on the parameters the config declares (each layer holds at least one per
    unit, filter or output dimension it declares: a bias, a column of its kernel; an
    ``Embedding`` a row per input token), and the layer declaring the most, as text."""
    total, largest, said = 0, 0, ""
    for where, item in _configs(config, path):
        inner = item.get("config")
        if not isinstance(inner, dict):
            continue
        if item.get("class_name") == "Embedding":
            rows, cols = _positive_int(inner.get("input_dim")), _positive_int(
                inner.get("output_dim"))
            count = (rows or 1) * (cols or 1)
            text = f"input_dim={rows}, output_dim={cols}"
        else:
            found = [(w, k) for k in _WIDTH_KEYS if (w := _positive_int(inner.get(k)))]
            if not found:
                continue
            count, key = max(found)
            text = f"{key}={count}"
        total += count
        if count > largest:
            largest, said = count, f"{where} ({item.get('class_name')}) declares {text}"
    return total, said


def check_parameters(config: Any, path: str, weights_bytes: int | None) -> None:
    """Refuse a config that declares more parameters than the limit, or than the weights the
    file holds could store (one byte each at the least), before Keras allocates them."""
    low, largest = parameters_from_below(config, path)
    if low > MAX_PARAMETERS:
        raise _refuse(path, f"{largest}: at least {low:,} parameters in all, over the limit "
                      f"of {MAX_PARAMETERS:,}")
    if weights_bytes is not None and low > weights_bytes:
        raise _refuse(path, f"{largest}: at least {low:,} parameters in all, but its weights "
                      f"hold {weights_bytes:,} bytes (the config does not match its weights)")


#: HDF5 objects (groups, datasets) visited at most when checking a model file's attributes.
MAX_HDF5_OBJECTS = 100_000


def _text_attribute(value: Any) -> bool:
    """What Keras writes as an HDF5 attribute: text, a list of names, or an empty list."""
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return True
        if value.dtype.kind in "SU":
            return True
        return value.dtype.kind == "O" and all(isinstance(v, (str, bytes))
                                               for v in value.ravel().tolist())
    return False


def check_hdf5_attributes(handle: Any, path: str) -> None:
    """Every attribute of a legacy HDF5 model file is text (names, JSON), as Keras writes
    them: binary or pickled data in an attribute is refused before anything reads it, and so
    are links out of the file (external links)."""
    import h5py

    seen = 0
    stack = [("/", handle)]
    while stack:
        name, group = stack.pop()
        seen += 1
        if seen > MAX_HDF5_OBJECTS:
            raise _refuse(path, f"more than {MAX_HDF5_OBJECTS:,} HDF5 objects")
        for key in group.attrs:
            try:
                value = group.attrs[key]
            except (OSError, TypeError, ValueError) as exc:
                raise _refuse(path, f"HDF5 attribute {key!r} of {name!r} cannot be read as "
                                    f"text ({type(exc).__name__})") from None
            if not _text_attribute(value):
                kind = getattr(value, "dtype", type(value).__name__)
                raise _refuse(path, f"HDF5 attribute {key!r} of {name!r} holds {kind} data, "
                                    "not text (binary or pickled data is not what Keras "
                                    "writes)")
        if isinstance(group, h5py.Group):
            for key in group:
                link = group.get(key, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    raise _refuse(path, f"HDF5 member {name.rstrip('/')}/{key} links to "
                                        f"another file ({link.filename!r})")
                if isinstance(link, h5py.HardLink):
                    stack.append((f"{name.rstrip('/')}/{key}", group[key]))
