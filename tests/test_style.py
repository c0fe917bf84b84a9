"""Style gates, pinned in requirements-dev.txt: lint, formatting, Snakemake's own linter; package structure."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "snakefmt"), "--check", "."],
        [sys.executable, "-m", "snakemake", "--lint", "--configfile", "config/config.yaml"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt", "snakemake-lint"],
)
def test_style_gate(command):
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_conda_environment_pins_what_requirements_pin():
    """environment.yml (for conda users) and requirements.txt (for make run) install the same versions."""
    import yaml

    pins = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert set(pip_section) == pins


PACKAGE = ROOT / "workflow/gridflow"


def package_modules() -> dict[str, ast.Module]:
    return {
        ".".join(("gridflow", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): ast.parse(
            path.read_text()
        )
        for path in PACKAGE.rglob("*.py")
    }


def test_functions_take_at_most_four_positional_parameters():
    """More than four parameters: the rest are keyword-only, so no call can swap two of one type."""
    crowded = [
        f"{module}.{node.name}"
        for module, tree in package_modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and len([a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]) > 4
    ]
    assert crowded == []


def test_no_import_cycle_in_the_package():
    """Also through imports inside functions, which hide a cycle until the day both run."""
    trees = package_modules()
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
