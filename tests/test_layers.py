"""The layering rule, enforced: fastact's modules import only from their own tier or below,
with no import cycle, counting imports inside functions too.

Tiers, from the bottom (README, "How it works"):

0. ``errors``, ``_version``
1. ``_jit`` (the one hook through which Numba stays lazy)
2. ``spec``, ``fmath``, ``fmath_ext``
3. ``registry``, ``_arrays``, ``_threads``, ``cache``
4. ``kernels.*``
5. ``catalog.*``
6. ``activation``, ``axis``, ``daskarray``, ``composition``
7. ``testing.*``
8. ``fastact`` (the package root), ``plugin``
9. ``tools.*``, ``__main__``, and the bridges on the public API: ``numba_ext`` (loaded by Numba
   through its ``numba_extensions`` entry point), ``torch``, ``jax``

Imports of fastact modules inside functions are allowed only for the kernel modules that
import Numba when imported (``import fastact`` must not). Private names (``_x``) are
imported only within their own subpackage.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "fastact"

TIERS = [
    {"fastact.errors", "fastact._version"},
    {"fastact._jit"},
    {"fastact.spec", "fastact.fmath", "fastact.fmath_ext"},
    {"fastact.registry", "fastact._arrays", "fastact._threads", "fastact.cache"},
    {"fastact.kernels.*"},
    {"fastact.catalog.*"},
    {"fastact.activation", "fastact.axis", "fastact.daskarray", "fastact.composition"},
    {"fastact.testing.*"},
    {"fastact", "fastact.plugin"},
    {"fastact.tools.*", "fastact.__main__", "fastact.numba_ext", "fastact.torch", "fastact.jax"},
]
#: fastact modules that import Numba at import time: reached lazily, from inside functions
NUMBA_AT_IMPORT = {"fastact.kernels.rows", "fastact.kernels.cuda_rows_impl"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def tier(module: str) -> int:
    for i, members in enumerate(TIERS):
        for m in members:
            if module == m or (m.endswith(".*") and module.startswith(m[:-1])) or module == m[:-2]:
                return i
    raise AssertionError(f"{module} is in no tier: add it to TIERS (and to the README's map)")


def _imports(module: str):
    """(imported fastact module, imported names, at function level?) for every import."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def nested(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "fastact":
                    yield alias.name, [], nested(node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fastact":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, [], nested(node)
                else:
                    yield target, [alias.name], nested(node)


EDGES = {m: list(_imports(m)) for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_tiers(module):
    mine = tier(module)
    for target, names, in_function in EDGES[module]:
        assert tier(target) <= mine, f"{module} (tier {mine}) imports {target} (tier {tier(target)})"
        if in_function:
            assert target in NUMBA_AT_IMPORT, (
                f"{module} imports {target} inside a function: import it at the top (only the "
                f"Numba-at-import kernels {sorted(NUMBA_AT_IMPORT)} are imported lazily)"
            )
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                same_package = target.rpartition(".")[0] == module.rpartition(".")[0] and "." in target[8:]
                assert same_package, f"{module} imports the private name {name} from {target}"


def test_no_import_cycles_counting_function_level_imports():
    graph = {m: {t for t, _, _ in EDGES[m] if t in MODULES and t != m} for m in MODULES}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_rule_can_fail():
    """The checker sees an upward import and a cycle when there is one (so the tests above
    are not vacuous)."""
    assert tier("fastact.kernels.cpu") < tier("fastact.activation")
    assert ("fastact.kernels.cpu", [], False) in EDGES["fastact.activation"]
    assert any(t == "fastact.kernels.rows" and lazy for t, _, lazy in EDGES["fastact.catalog.axiswise"])


def test_public_imports_are_unchanged():
    import fastact
    import fastact.plugin as plugin

    for name in ["ActivationSpec", "AxisSpec", "Param", "Properties", "jitable", "get", "names", "register",
                 "compose", "c_api", "info", "Activation", "AxisActivation", "__version__"]:  # fmt: skip
        assert hasattr(fastact, name), name
    for name in ["ActivationSpec", "AxisSpec", "Param", "Properties", "jitable", "check_spec", "exp", "ndtr"]:
        assert hasattr(plugin, name), name
    from importlib import metadata

    scripts = metadata.entry_points(group="console_scripts")
    assert {ep.value for ep in scripts if ep.name == "fastact"} == {"fastact.tools.cli:main"}
