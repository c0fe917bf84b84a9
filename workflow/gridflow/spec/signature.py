"""The grid axes a model builder accepts, read from its source without importing it.

Snakemake parses the workflow before any job runs; importing the user's
builder module would import TensorFlow there. Pure Python.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from gridflow.errors import ConfigError
from gridflow.io import file_digest

# What gridflow passes a builder itself: never grid axes.
BUILDER_INPUTS = ("n_features", "n_classes", "task")
# Built-in builders by name, read like a user's ``package.module:function`` (a test resolves each).
BUILTIN_BUILDERS = {"mlp": "gridflow.train.builders:mlp"}


def builder_target(builder: str) -> tuple[str, str]:
    """(module, function) of a builder spec: a built-in name or ``package.module:function``."""
    module_name, func_name = BUILTIN_BUILDERS.get(builder, builder).split(":")
    return module_name, func_name


def builder_axes(builder: str, search_path: list[str]) -> tuple[str, ...] | None:
    """The grid axes a builder accepts, found without importing it.

    Returns None when the builder takes ``**kwargs`` (any axis goes).

    Raises
    ------
    ConfigError
        If the module cannot be found or does not define the function.
    """
    module_name, func_name = builder_target(builder)
    origin = _module_file(module_name, search_path)
    if origin is None:
        raise ConfigError(
            f"config key 'model.builder' has value \"{builder}\"; module '{module_name}' cannot be imported "
            f"(searched the Python path and {', '.join(search_path)})"
        )
    tree = ast.parse(Path(origin).read_text(), filename=origin)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func_name:
            args = node.args
            if args.kwarg is not None:
                return None
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            return tuple(n for n in names if n not in BUILDER_INPUTS)
    raise ConfigError(
        f"config key 'model.builder' has value \"{builder}\"; module '{module_name}' defines no function '{func_name}'"
    )


def builder_source_digest(builder: str, search_path: list[str]) -> str:
    """A digest of the source of the builder's module: editing it (or what else the module defines) changes it.

    The builder spec itself when the module cannot be found (the config check has said so already).
    """
    origin = _module_file(builder_target(builder)[0], search_path)
    return file_digest(origin) if origin else builder


def _module_file(module_name: str, search_path: list[str]) -> str | None:
    added = [p for p in search_path if p not in sys.path]
    sys.path[:0] = added
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    finally:
        for p in added:
            sys.path.remove(p)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return spec.origin
