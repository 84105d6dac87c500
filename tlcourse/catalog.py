"""What the course has, by name and one line each, read without importing torch.

``tlcourse list`` prints it. The experiments and data sets are read from the source of
:mod:`tlcourse.experiments` (each ``@register("name", "description")``) and
:mod:`tlcourse.data` (its ``_DATASETS`` table) with :mod:`ast`, the backbones from
:mod:`tlcourse.backbone_specs`: the same registries the code runs from, so the list cannot
drift from them (``tests/test_import_layers.py`` checks it), but without the seconds that
importing torch and timm takes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .backbone_specs import _REGISTRY

_HERE = Path(__file__).resolve().parent


def _literal(node: ast.expr) -> str:
    return str(ast.literal_eval(node))


def experiments() -> dict[str, str]:
    """Experiment name -> description, as :func:`tlcourse.experiments.list_experiments`."""
    found = {}
    for path in sorted((_HERE / "experiments").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    if (isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "register"
                            and len(dec.args) >= 2):
                        found[_literal(dec.args[0])] = _literal(dec.args[1])
    return dict(sorted(found.items()))


def datasets() -> dict[str, str]:
    """Data set name -> description, as :func:`tlcourse.data.list_datasets`."""
    tree = ast.parse((_HERE / "data.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(getattr(t, "id", None) == "_DATASETS" for t in node.targets)):
            return {_literal(k): _literal(v.elts[0]) for k, v in zip(node.value.keys, node.value.values)}
    raise RuntimeError("tlcourse/data.py has no _DATASETS table")


def backbones() -> dict[str, str]:
    """Backbone name -> description, as :func:`tlcourse.backbones.list_backbones`."""
    return {name: _REGISTRY[name].description for name in sorted(_REGISTRY)}
