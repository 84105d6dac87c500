"""Metadata inside an ONNX file: what an app needs to read before it runs the graph.

Every value is stored as JSON text under its key (``onnx`` ``metadata_props``), so an app in any
language reads it the same way: ``json.loads(value)`` for every key. Nothing here knows what the
model reads; the image export (:mod:`tlcourse.custom.export`) and a text export both use it.

Example:
    >>> write_onnx_metadata(proto, {"classes": ["cat", "dog"], "threshold": 0.4})  # doctest: +SKIP
    >>> read_onnx_metadata("model-iter3.onnx")["threshold"]                          # doctest: +SKIP
    0.4
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import TlcourseError


class OnnxMetadataError(TlcourseError, ValueError):
    """Metadata that cannot be written or read; the message says what to do."""


def write_onnx_metadata(proto: Any, meta: dict[str, Any]) -> None:
    """Store ``meta`` in ``proto.metadata_props``, every value as JSON (replacing those keys).

    Args:
        proto: an ``onnx.ModelProto``.
        meta: plain data: str keys; values of str, int, float, bool, None, lists and dicts.

    Raises:
        OnnxMetadataError: a key is not a non-empty string or a value is not JSON data.
    """
    encoded = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not key:
            raise OnnxMetadataError(f"metadata keys must be non-empty strings, not {key!r}")
        try:
            encoded[key] = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise OnnxMetadataError(f"metadata {key!r} is not plain JSON data ({e}); pass "
                                    f"str, numbers, lists or dicts") from None
    kept = [p for p in proto.metadata_props if p.key not in encoded]
    del proto.metadata_props[:]
    for p in kept:
        proto.metadata_props.add(key=p.key, value=p.value)
    for key, text in encoded.items():
        proto.metadata_props.add(key=key, value=text)


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """Every metadata value of an ONNX file, JSON decoded (a value that is not JSON, as files
    of older tlcourse versions hold for names, is returned as its text).

    Raises:
        OnnxMetadataError: the file is missing or not an ONNX model.
    """
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise OnnxMetadataError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file: say so in one line
        raise OnnxMetadataError(f"{path} is not a readable ONNX file ({type(e).__name__}); "
                                f"export it again: tlcourse export MODEL") from None
    out: dict[str, Any] = {}
    for p in proto.metadata_props:
        try:
            out[p.key] = json.loads(p.value)
        except ValueError:
            out[p.key] = p.value
    return out
