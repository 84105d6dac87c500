"""No import circle inside ``tlcourse/``, function-local imports included (read with ``ast``).

A function-local import hides a circle from Python's start-up but not from a reader: the two
modules still need each other. The graph below has an edge A -> B for every ``import`` or
``from ... import`` anywhere in A's source that reaches module B of this package:

* ``from pkg import name``: an edge to ``pkg.name`` when that is a module, else to ``pkg``
  (its ``__init__``, which defines the name);
* ``import pkg.mod`` / ``from pkg.mod import x``: an edge to ``pkg.mod``;
* imports under ``if TYPE_CHECKING:`` are skipped: they never run.

A module is not counted as importing its own ancestor packages' ``__init__`` for nothing: an
edge to an ancestor is drawn only when it imports a name defined there (that is a real circle
when the ``__init__`` imports the module back).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tlcourse"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its source."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_blocks(tree)
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                src = _resolve(mod, is_pkg, node)
                for alias in node.names:
                    sub = f"{src}.{alias.name}"
                    targets.append(sub if sub in mods else src)
            for target in targets:
                while target and target not in mods:  # import a.b.c where c is a name
                    target = target.rpartition(".")[0]
                if target in mods and target != mod:
                    graph[mod].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def test_the_graph_sees_function_local_imports():
    g = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert find_cycles(g) == [["a", "b"]]
    tree = ast.parse("def f():\n    from . import bank\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _resolve("tlcourse.quiz.grounded", False, node) == "tlcourse.quiz"


def test_no_import_circle_inside_tlcourse():
    cycles = find_cycles(import_graph())
    if cycles:
        pytest.fail("import circles (each a set of modules that import each other, "
                    "function-local imports included):\n"
                    + "\n".join(" <-> ".join(c) for c in cycles))


@pytest.mark.parametrize("old, new, name", [
    ("tlcourse.folder", "tlcourse.custom.folder", "check_folder"),
    ("tlcourse.classifier", "tlcourse.custom.classifier", "load_model"),
    ("tlcourse.metrics", "tlcourse.custom.metrics", "report"),
    ("tlcourse.export", "tlcourse.custom.export", "export_onnx"),
    ("tlcourse.custom_widgets", "tlcourse.custom.widgets", "threshold_explorer"),
    ("tlcourse.plots.custom", "tlcourse.custom.plots", "pr_curves"),
])
def test_a_saved_notebook_s_old_import_still_works_with_a_warning(old, new, name):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_the_old_train_name_is_the_new_train_model():
    import importlib
    import sys

    sys.modules.pop("tlcourse.classifier", None)
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("tlcourse.classifier")
    from tlcourse.custom import train_model

    assert old.train is train_model


def test_the_catalog_lists_what_the_registries_run():
    from tlcourse import catalog
    from tlcourse.backbones import list_backbones
    from tlcourse.data import list_datasets
    from tlcourse.experiments import list_experiments

    assert catalog.experiments() == list_experiments()
    assert catalog.datasets() == list_datasets()
    assert list(catalog.backbones()) == list_backbones()


def test_commands_that_train_nothing_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, contextlib, io\n"
            "from tlcourse.cli import main\n"
            "for argv in (['list'], ['quiz', 'list'], ['class', '--help'], ['--help'],\n"
            "             ['cache', 'info'], ['drill', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main(argv)\n"
            "    assert 'torch' not in sys.modules, argv\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_library_itself_never_imports_an_old_path():
    """The old paths are for a learner's saved notebook; the library's own code (and the
    chapters) must not warn the learner about them."""
    old = ("folder", "classifier", "metrics", "export", "custom_widgets", "safe_text",
           "browser_assets")
    hits = []
    for mod, path in _modules().items():
        if mod.rpartition(".")[2] in old and mod.count(".") == 1 or mod == "tlcourse.plots.custom":
            continue  # the aliases themselves
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                src = _resolve(mod, path.name == "__init__.py", node)
                names = [f"{src}.{a.name}" for a in node.names] + [src]
                hits += [f"{mod}: {n}" for n in names
                         if n in {f"tlcourse.{o}" for o in old} | {"tlcourse.plots.custom"}]
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for nb in notebooks.glob("*.ipynb"):
        text = nb.read_text(encoding="utf-8")
        hits += [f"{nb.name}: tlcourse.{o}" for o in old
                 if f"from tlcourse.{o} import" in text or f"from tlcourse import {o}" in text]
    assert not hits, hits
