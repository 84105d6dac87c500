"""The results cache's file format: JSON for structure, safetensors for tensors, no pickle.

:func:`encode` turns a Results' fields and artifacts into plain JSON. Where JSON has no word for
a value it is tagged: ``{"$t": "tuple", "v": [...]}``, ``{"$t": "dict", "items": [[k, v], ...]}``
(keys that are not text), ``{"$t": "ImageData", "fields": {...}}`` (only the dataclasses
registered with :func:`storable`), and tensors or NumPy arrays become ``{"$t": "tensor", "id":
"3"}``, references into a dict of tensors that :mod:`tlcourse.cache` writes with safetensors.
:func:`decode` accepts only what :func:`encode` writes and raises :class:`Untrusted` on anything
else; it calls no constructor but those of the registered dataclasses, with decoded fields.

Example:
    >>> tensors = {}
    >>> encode({("a", 1): (2.0, "x")}, "artifacts", tensors, {})
    {'$t': 'dict', 'items': [[{'$t': 'tuple', 'v': ['a', 1]}, {'$t': 'tuple', 'v': [2.0, 'x']}]]}
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import torch

#: Dataclasses an entry may hold, by class name; each is rebuilt field by field, never unpickled.
STORABLE: dict[str, type] = {}


def storable(cls: type) -> type:
    """Allow the dataclass ``cls`` in a cached Results (a decorator, or call it on a class).

    Example:
        >>> storable(ImageData)  # doctest: +SKIP
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass: the results cache cannot rebuild it")
    STORABLE[cls.__name__] = cls
    return cls


class Untrusted(Exception):
    """An entry that failed a check: the message says which (one short clause)."""


def encode(obj: Any, where: str, tensors: dict[str, torch.Tensor] | None,
            ids: dict[int, str] | None = None) -> Any:
    """``obj`` as JSON; with ``tensors``, tensors and arrays are added to it and referenced."""
    def enc(value: Any, at: str) -> Any:
        return encode(value, at, tensors, ids)

    if obj is None or type(obj) in (bool, str, int, float):
        return obj
    if isinstance(obj, str):
        return str(obj)  # e.g. torch.__version__, a str subclass
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return obj.item()  # a NumPy scalar: its Python number
    if type(obj) is list:
        return [enc(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if type(obj) is tuple:
        return {"$t": "tuple", "v": [enc(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if type(obj) is dict:
        if all(type(k) is str for k in obj) and "$t" not in obj:
            return {k: enc(v, f"{where}[{k!r}]") for k, v in obj.items()}
        return {"$t": "dict", "items": [[enc(k, f"{where} (a key)"), enc(v, f"{where}[{k!r}]")]
                                        for k, v in obj.items()]}
    if tensors is not None and ids is not None:
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
            return {"$t": "ndarray", "id": _add_tensor(torch.from_numpy(
                np.ascontiguousarray(obj).astype(obj.dtype.newbyteorder("="))), obj, tensors, ids)}
        if type(obj) is torch.Tensor and obj.layout == torch.strided:
            return {"$t": "tensor", "id": _add_tensor(obj, obj, tensors, ids)}
        if STORABLE.get(type(obj).__name__) is type(obj):
            return {"$t": type(obj).__name__,
                    "fields": {f.name: enc(getattr(obj, f.name), f"{where}.{f.name}")
                               for f in dataclasses.fields(obj)}}
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    allowed = ("tensors, NumPy arrays, " if tensors is not None else "") + \
        "numbers, strings, None, lists, tuples, dicts" + \
        (f" and {', '.join(sorted(STORABLE))}" if tensors is not None else "")
    raise TypeError(f"{where}: the results cache cannot store a {kind}; it stores {allowed}")


def _add_tensor(t: torch.Tensor, original: Any, tensors: dict[str, torch.Tensor],
                ids: dict[int, str]) -> str:
    """The name of ``t`` in the tensor file (an object stored twice is stored once)."""
    if id(original) not in ids:
        ids[id(original)] = name = str(len(tensors))
        # a copy of its own: safetensors refuses tensors that share memory
        tensors[name] = t.detach().to("cpu").contiguous().clone()
    return ids[id(original)]


def decode(node: Any, tensors: dict[str, torch.Tensor] | None) -> Any:
    """The inverse of :func:`_encode`; any node it did not write raises :class:`Untrusted`."""
    if node is None or type(node) in (bool, str, int, float):
        return node
    if type(node) is list:
        return [decode(v, tensors) for v in node]
    if type(node) is not dict:
        raise Untrusted(f"it holds a {type(node).__name__}")
    tag = node.get("$t")
    if tag is None:
        return {k: decode(v, tensors) for k, v in node.items()}
    if tag == "tuple" and type(node.get("v")) is list:
        return tuple(decode(v, tensors) for v in node["v"])
    if tag == "dict" and type(node.get("items")) is list:
        out = {}
        for item in node["items"]:
            if type(item) is not list or len(item) != 2:
                raise Untrusted("it holds a malformed dict")
            out[_hashable(decode(item[0], tensors))] = decode(item[1], tensors)
        return out
    if tensors is not None and tag in ("tensor", "ndarray"):
        if node.get("id") not in tensors:
            raise Untrusted("it refers to a tensor its tensor file lacks")
        t = tensors[node["id"]]
        return t.numpy() if tag == "ndarray" else t
    cls = STORABLE.get(tag) if tensors is not None and type(tag) is str else None
    if cls is not None and type(node.get("fields")) is dict:
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        if set(node["fields"]) != names:
            raise Untrusted(f"its {tag} has the fields {sorted(node['fields'])}")
        return cls(**{k: decode(v, tensors) for k, v in node["fields"].items()})
    raise Untrusted(f"it holds an unknown tag {str(tag)[:40]!r}")


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        raise Untrusted("it holds a dict key that cannot be one") from None
    return key


def dumps(entry: dict[str, Any]) -> str:
    """The entry as JSON text: one line per part, one line per record (a record's lists, such as
    per-item predictions, stay on its line: about 2 bytes per 0/1 item)."""
    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    fields = dict(entry["fields"])
    records = fields.pop("records", [])
    body = [f"{compact(k)}:{compact(v)}" for k, v in fields.items()]
    body.append('"records":[\n' + ",\n".join(compact(r) for r in records) + "]")
    head = [f"{compact(k)}:{compact(v)}" for k, v in entry.items() if k != "fields"]
    return "{" + ",\n".join([*head, '"fields":{\n' + ",\n".join(body) + "}"]) + "}\n"
