"""The shape of the tree (STYLE.md, issue #14), checked from the source with :mod:`ast`.

* no module imports a private module or name of another cvtools package (``cvtools._shared`` is the
  shared internal layer and exempt; dunders such as ``__version__`` are not private);
* no import cycle between modules, function-level imports included, and none between packages;
* imports run one way, down the layers of STYLE.md (below);
* no function longer than :data:`MAX_FUNCTION_LINES` lines of code (docstring, blank and comment-only
  lines not counted) and complete annotations on every public function, over :data:`CHECKED_PACKAGES`.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cvtools"

#: The layers of STYLE.md, top to bottom. A package imports only packages of its own layer or below it
#: (``io`` knows nothing of detectors; ``metrics`` and ``viz`` take ``Detections`` from ``_shared``).
#: ``demo`` is an application over the task packages; ``datasets`` sits beside ``metrics`` (it reads and
#: writes labelled boxes); ``transform`` beside ``filtering``.
LAYERS = (
    {"__main__", "cli"},
    {"demo"},
    {"batch"},
    {"detect", "recognize", "identify", "generative"},
    {"metrics", "viz", "datasets"},
    {"filtering", "transform"},
    {"convolution", "intensity"},
    {"io"},
    {"_shared"},
)
LAYER = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}

#: Every package is held to the function-length and annotation rules.
CHECKED_PACKAGES = ("_shared", "io", "intensity", "convolution", "filtering", "transform", "metrics", "viz", "datasets",
                    "detect", "recognize", "identify", "generative", "batch", "demo", "cli")
MAX_FUNCTION_LINES = 100


# ------------------------------------------------------------------------------------------ the graph
@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


@cache
def tree(module: str) -> ast.Module:
    path, _ = modules()[module]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """Every cvtools import of ``module``, at any depth: (target module, imported name or None, line)."""
    _, is_pkg = modules()[module]
    out = []
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "cvtools"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "cvtools":
                out += [(target, a.name, node.lineno) for a in node.names]
    return out


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<root>"


@cache
def edges() -> dict[str, set[str]]:
    """module -> the cvtools modules it imports (``from pkg import submodule`` counts as the submodule)."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m in mods:
        for target, name, _ in imports(m):
            if name and f"{target}.{name}" in mods:
                target = f"{target}.{name}"
            if target in mods and target != m:
                graph[m].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


# ------------------------------------------------------------------------------------------ the rules
def test_the_graph_sees_function_level_imports():
    # generative._style imports _style_classic inside stylize's branches
    assert "cvtools.generative._style_classic" in edges()["cvtools.generative._style"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_packages_private_module_or_name():
    bad = []
    for m in modules():
        for target, name, line in imports(m):
            if package(target) in (package(m), "_shared"):
                continue
            parts = target.split(".")[1:] + ([name] if name else [])
            if any(_private(p) for p in parts):
                bad.append(f"{m}:{line} imports {target}{'.' + name if name else ''}")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    found = cycles(edges())
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for m, targets in edges().items():
        graph.setdefault(package(m), set()).update(package(t) for t in targets if package(t) != package(m))
    found = cycles(graph)
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_every_package_has_a_layer():
    packages = {package(m) for m in modules()} - {"<root>"}
    assert packages <= set(LAYER), sorted(packages - set(LAYER))


def test_imports_run_down_the_layers():
    bad = []
    for m, targets in edges().items():
        src = package(m)
        if src == "<root>":
            continue  # cvtools/__init__.py: the lazy public surface
        for t in targets:
            dst = package(t)
            if dst == "<root>":
                if LAYER[src] != 0:
                    bad.append(f"{m} imports the top-level cvtools package")
            elif LAYER[dst] < LAYER[src]:
                bad.append(f"{m} ({src}) imports {t} ({dst}), a higher layer")
    assert not bad, "\n".join(bad)


def test_the_lower_layers_know_nothing_of_the_task_packages():
    # the rule issue #14 names, spelled out: it is implied by the layers above
    task = {"detect", "identify", "recognize", "generative", "demo", "batch", "cli"}
    for src in ("metrics", "viz", "io", "_shared"):
        assert LAYER[src] > max(LAYER[t] for t in task)


def _code_lines(fn: ast.AST, source_lines: list[str]) -> int:
    skip: set[int] = set()
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for n in range(fn.lineno, fn.end_lineno + 1):
        text = source_lines[n - 1].strip()
        if n not in skip and text and not text.startswith("#"):
            count += 1
    return count


#: OpenCV calls that take or give BGR (or swap channels): only ``cvtools.io`` makes them (STYLE.md).
BGR_CALLS = {"imread", "imwrite", "imencode", "imdecode", "imdecodemulti", "imshow", "VideoWriter"}


def test_bgr_exists_only_in_io():
    """No module outside ``cvtools/io`` names a BGR colour conversion (``cv2.COLOR_..BGR..``) or calls an
    OpenCV function that reads, writes or shows BGR pixels; they use io's helpers (``rgb_to_bgr``,
    ``encode``, ``show_window``, ``VideoWriter``)."""
    found = []
    for module, (path, _) in modules().items():
        if module.startswith("cvtools.io"):
            continue
        for node in ast.walk(tree(module)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "cv2":
                if "BGR" in node.attr or node.attr in BGR_CALLS:
                    found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} cv2.{node.attr}")
    assert not found, "BGR outside cvtools.io:\n" + "\n".join(found)


def test_no_function_over_100_lines_of_code():
    bad = []
    for m, (path, _) in modules().items():
        if package(m) not in CHECKED_PACKAGES:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree(m)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node, lines)
                if n > MAX_FUNCTION_LINES:
                    bad.append(f"{m}.{node.name} (line {node.lineno}): {n} lines of code")
    assert not bad, "\n".join(bad)


def _missing_annotations(fn, qualname: str) -> list[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature
        return []
    missing = [f"{qualname}({p.name})" for i, p in enumerate(sig.parameters.values())
               if p.annotation is inspect.Parameter.empty and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append(f"{qualname} -> ?")
    return missing


def _public_functions(pkg: str):
    """The functions listed in ``cvtools.<pkg>.__all__`` (classes document their own methods)."""
    mod = importlib.import_module(f"cvtools.{pkg}")
    for name in getattr(mod, "__all__", ()):
        obj = getattr(mod, name)
        if inspect.isfunction(obj):
            yield f"cvtools.{pkg}.{name}", obj


@pytest.mark.parametrize("pkg", CHECKED_PACKAGES)
def test_public_functions_are_fully_annotated(pkg):
    if pkg == "_shared":
        pytest.skip("cvtools._shared has no public surface of its own (its names are re-exported)")
    missing = [m for qual, fn in _public_functions(pkg) for m in _missing_annotations(fn, qual)]
    assert not missing, "\n".join(missing)
