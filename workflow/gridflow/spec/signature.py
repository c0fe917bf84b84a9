"""The grid axes a user's function accepts (a model builder, a transformer), read from its source without importing it.

Snakemake parses the workflow before any job runs; importing the user's
builder module would import TensorFlow there. Pure Python.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path

from gridflow.errors import ConfigError
from gridflow.io import file_digest

# What gridflow passes a builder itself: never grid axes.
BUILDER_INPUTS = ("n_features", "n_classes", "task")
# Built-in builders by name, read like a user's ``package.module:function`` (a test resolves each).
BUILTIN_BUILDERS = {"mlp": "gridflow.train.builders:mlp"}


def callable_target(spec: str, builtins: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(module, function) of ``package.module:function`` or of a built-in's name in ``builtins``."""
    module_name, func_name = (builtins or {}).get(spec, spec).split(":")
    return module_name, func_name


def builder_target(builder: str) -> tuple[str, str]:
    """(module, function) of a builder spec: a built-in name or ``package.module:function``."""
    return callable_target(builder, BUILTIN_BUILDERS)


def builder_axes(builder: str, search_path: list[str]) -> tuple[str, ...] | None:
    """The grid axes a builder accepts, found without importing it; None when it takes ``**kwargs`` (any axis)."""
    return function_axes(builder_target(builder), key="model.builder", spec=builder, search_path=search_path,
                         given=BUILDER_INPUTS)  # fmt: skip


def transformer_axes(transformer: str, search_path: list[str]) -> tuple[str, ...] | None:
    """The grid axes a transformer function accepts (its keyword parameters); None when it takes ``**kwargs``."""
    target = callable_target(transformer)
    return function_axes(target, key="preprocessing.transformer", spec=transformer, search_path=search_path)


def function_axes(
    target: tuple[str, str], *, key: str, spec: str, search_path: list[str], given: tuple[str, ...] = ()
) -> tuple[str, ...] | None:
    """The parameters of function ``target`` (module, name) but those gridflow passes itself (``given``);
    None when it takes ``**kwargs``.

    Raises
    ------
    ConfigError
        If the module cannot be found or does not define the function (``key``, ``spec``: the config's words).
    """
    module_name, func_name = target
    origin = _module_file(module_name, search_path)
    if origin is None:
        raise ConfigError(
            f"config key '{key}' has value \"{spec}\"; module '{module_name}' cannot be imported "
            f"(searched the Python path and {', '.join(search_path)})"
        )
    tree = ast.parse(Path(origin).read_text(), filename=origin)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func_name:
            args = node.args
            if args.kwarg is not None:
                return None
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            return tuple(n for n in names if n not in given)
    raise ConfigError(
        f"config key '{key}' has value \"{spec}\"; module '{module_name}' defines no function '{func_name}'"
    )


def source_digest(spec: str, search_path: list[str], builtins: Mapping[str, str] | None = None) -> str:
    """A digest of the source of the module of function ``spec``: editing the module (anything in it) changes it.

    ``spec`` itself when the module cannot be found (the config check has said so already).
    """
    origin = _module_file(callable_target(spec, builtins)[0], search_path)
    return file_digest(origin) if origin else spec


def builder_source_digest(builder: str, search_path: list[str]) -> str:
    """A digest of the source of the builder's module (see source_digest)."""
    return source_digest(builder, search_path, BUILTIN_BUILDERS)


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
