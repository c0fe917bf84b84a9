"""The package's shape: stages as subpackages, imports pointing one way, TensorFlow in train/ only, small parts."""

import ast
import subprocess
import sys

from conftest import ROOT

PACKAGE = ROOT / "workflow/gridflow"
# Each stage may import from the stages before it, never from a later one; the top-level modules
# (errors, io, logs, per_job and the package itself) are for all.
STAGES = ["spec", "data", "results", "train", "analysis", "report"]
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("gridflow", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text())
    return found


def stage(module: str) -> int:
    """The position of a module's stage; -1 for the top-level modules every stage uses."""
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 2 or parts[-1] in STAGES else -1


def imported(tree: ast.Module) -> set[str]:
    """Every gridflow module a module imports, also inside functions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gridflow"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("gridflow")}
    return names


def test_imports_point_from_later_stages_to_earlier_ones():
    backwards = [
        f"{module} imports {target}"
        for module, tree in modules().items()
        for target in imported(tree)
        if target != "gridflow" and stage(target) > stage(module)
    ]
    assert backwards == []


def test_only_train_imports_tensorflow():
    """Import every module outside train/ (and train/'s light ones) in a fresh process: no TensorFlow, no Keras."""
    light = ("", ".cell", ".trainers", ".plan", ".fitting", ".state", ".workers", ".kept", ".caches", ".lru")
    light_train = [f"gridflow.train{m}" for m in light]
    names = [m for m in modules() if not m.startswith("gridflow.train")] + light_train
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'workflow')!r})\n"
        f"for name in {names!r}: __import__(name)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"
    heavy = [m for m in modules() if m.startswith("gridflow.train") and m not in light_train]
    imports_tf = {m for m in heavy if {"keras", "tensorflow"} & _top_level_imports(modules()[m])}
    assert imports_tf == set(heavy) - {"gridflow.train.backend"}  # backend imports TensorFlow when asked


def _top_level_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_is_longer_than_300_lines():
    long = {p.name: n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_longer_than_60_lines():
    long = [
        f"{module}.{node.name}: {node.end_lineno - node.lineno + 1}"
        for module, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_modules_are_named_by_imports_not_strings():
    """A module named in a string moves silently; the built-in builders are the one place, resolved here."""
    from gridflow.spec.signature import BUILTIN_BUILDERS
    from gridflow.train.builders import mlp, resolve_builder

    assert resolve_builder("mlp") is mlp and set(BUILTIN_BUILDERS) == {"mlp"}
    named = []
    for module, tree in modules().items():
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node) is not None
        }
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and id(node) not in docstrings else None
            if isinstance(text, str) and text.startswith("gridflow.") and text not in BUILTIN_BUILDERS.values():
                named.append(f"{module}: {text}")
    assert named == []


def test_functions_take_at_most_four_positional_parameters():
    """More than four parameters: the rest are keyword-only, so no call can swap two of one type."""
    crowded = [
        f"{module}.{node.name}"
        for module, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and len([a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]) > 4
    ]
    assert crowded == []


def test_no_import_cycle_in_the_package():
    """Also through imports inside functions, which hide a cycle until the day both run."""
    trees = modules()
    imports = {module: set() for module in trees}
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gridflow"):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                imports[module] |= {n for n in names if n in trees} or {node.module}
            elif isinstance(node, ast.Import):
                imports[module] |= {alias.name for alias in node.names if alias.name in trees}
    for module in imports:
        imports[module] = {m for m in imports[module] if m in trees and m != module}

    def cycle_from(start, path):
        for target in imports[path[-1]]:
            if target == start:
                return [*path, start]
            if target not in path and (found := cycle_from(start, [*path, target])):
                return found
        return None

    cycles = [found for module in imports if (found := cycle_from(module, [module]))]
    assert cycles == []
