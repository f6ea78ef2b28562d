"""The tuning package's structure: no import cycles, KerasTuner's private API in one module only."""

import ast
import pathlib
import re

import pytest

import kerasopt

PACKAGE = pathlib.Path(kerasopt.__file__).parent
# KerasTuner names that are not its public API; only kerasopt/tuning/_compat.py may use them.
PRIVATE = ("keras_tuner.src", "_retry_queue", "_is_worker", "_random_populate_space", "_duplicate", "protos",
           "OracleServicer", "exit_chief", "oracle_chief", "dist_utils")


def _modules() -> dict[str, pathlib.Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the kerasopt modules it imports anywhere in its code (module level or inside functions)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], *filter(None, [base])])
                # `from a import b` imports the module a.b when b is one
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "kerasopt.tuning._compat" in graph["kerasopt.tuning._tuner"]
    assert "kerasopt.tuning.distributed" in graph["kerasopt.tuning.search"]  # imported inside _search


def test_no_import_cycle_in_kerasopt():
    assert cycles(import_graph()) == []


def test_the_launcher_does_not_import_the_search():
    graph = import_graph()
    assert "kerasopt.tuning.search" not in graph["kerasopt.tuning.distributed"]
    assert "kerasopt.tuning.distributed" not in graph["kerasopt.tuning._tuner"]


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py") if p.name != "_compat.py"),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_keras_tuner_private_api_only_in_the_compat_module(path):
    text = path.read_text(encoding="utf-8")
    assert [name for name in PRIVATE if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text)] == []


def test_keras_tuner_is_pinned_to_the_tested_minor_series():
    import keras_tuner

    setup = (PACKAGE.parent / "setup.cfg").read_text(encoding="utf-8")
    assert "keras-tuner>=1.4.7,<1.5" in setup
    assert keras_tuner.__version__.startswith("1.4.")
    compat = (PACKAGE / "tuning" / "_compat.py").read_text(encoding="utf-8")
    assert f"KerasTuner {keras_tuner.__version__}" in compat.split('"""')[1]
