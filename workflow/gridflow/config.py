"""Check an experiment's config before any job runs.

Every problem is reported as one line that names the key, the value and what
is allowed. Pure Python (no TensorFlow): runs while Snakemake parses.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from gridflow import grid as gridlib

# Activation names Keras 3 resolves with keras.activations.get (checked by a test).
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)  # fmt: skip


class ConfigError(ValueError):
    """A user mistake in the config; its message is one line."""


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _positive_number(v):
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0


def _rate(v):
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1


AXIS_RULES = {
    "batch_size": (_positive_int, "a whole number >= 1"),
    "learning_rate": (_positive_number, "a number > 0"),
    "hidden_units": (_positive_int, "a whole number >= 1"),
    "dropout": (_rate, "a number in [0, 1)"),
    "activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)),
}


def load_schema(path: str | Path) -> dict:
    """Read the JSON schema (YAML) of the config."""
    return yaml.safe_load(Path(path).read_text())


def check_schema(config: Mapping, schema: Mapping) -> None:
    """Raise ConfigError for the first place where config breaks the schema."""
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(_describe(error))


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    key, value, rule, limit = _key(error.absolute_path), error.instance, error.validator, error.validator_value
    if rule == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed))[0]
        where = f"in '{key}'" if error.absolute_path else "at the top level"
        return f"unknown key '{unknown}' {where}; allowed keys: {', '.join(allowed)}"
    if rule == "required":
        return f"config key '{key}' is missing '{limit[0]}'"
    if "propertyNames" in error.schema_path:
        return f"config key '{key}' has the name {json.dumps(value)}; allowed: an identifier (letters, digits, _)"
    return f"config key '{key}' has value {json.dumps(value)}; allowed: {_allowed(rule, limit, error)}"


def _allowed(rule: str, limit, error: jsonschema.ValidationError) -> str:
    """What a schema rule allows, in words."""
    if rule == "enum":
        return "one of " + ", ".join(map(str, limit))
    if rule == "type":
        return "a value of type " + (" or ".join(limit) if isinstance(limit, list) else limit)
    if rule == "pattern" and error.schema.get("description", "").startswith("mlp"):
        return "mlp or package.module:function"
    words = {
        "minimum": ">= {}",
        "exclusiveMinimum": "> {}",
        "maximum": "<= {}",
        "exclusiveMaximum": "< {}",
        "minItems": "a list of at least {} value(s)",
        "minProperties": "at least {} entry",
        "minLength": "a string of at least {} character(s)",
        "pattern": "a string matching {}",
        "uniqueItems": "a list without repeated values",
    }
    return words[rule].format(limit) if rule in words else error.message


def check_grid(grid: Mapping[str, list], builder_axes: tuple[str, ...] | None) -> None:
    """Check the grid's axes and values.

    ``builder_axes`` are the axes the model builder accepts; None means any.
    """
    allowed_axes = None if builder_axes is None else sorted(set(builder_axes) | set(gridlib.TRAINING_AXES))
    for axis, values in grid.items():
        key = f"grid.{axis}"
        if allowed_axes is not None and axis not in allowed_axes:
            raise ConfigError(f"unknown grid axis '{axis}'; allowed axes: {', '.join(allowed_axes)}")
        seen: dict[str, object] = {}
        for value in values:
            try:
                name = gridlib.format_value(value)
            except ValueError as error:
                raise ConfigError(f"config key '{key}' has value {json.dumps(value)}; {error}") from None
            if name in seen:
                first, again = json.dumps(seen[name]), json.dumps(value)
                what = f"{again} twice" if first == again else f"{again}, the same value as {first}"
                raise ConfigError(f"config key '{key}' lists {what}; allowed: distinct values")
            seen[name] = value
            rule = AXIS_RULES.get(axis)
            if rule and not rule[0](gridlib.canonical_value(value)):
                raise ConfigError(f"config key '{key}' has value {json.dumps(value)}; allowed: {rule[1]}")


def builder_axes(builder: str, search_path: list[str]) -> tuple[str, ...] | None:
    """The grid axes a builder accepts, found without importing it.

    Returns None when the builder takes ``**kwargs`` (any axis goes).

    Raises
    ------
    ConfigError
        If the module cannot be found or does not define the function.
    """
    # The built-in mlp is read like a user's builder: from its signature.
    module_name, func_name = ("gridflow.model", "mlp") if builder == "mlp" else builder.split(":")
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
            return tuple(n for n in names if n not in ("n_features", "n_classes"))
    raise ConfigError(
        f"config key 'model.builder' has value \"{builder}\"; module '{module_name}' defines no function '{func_name}'"
    )


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


def check_training(training: Mapping) -> None:
    """Rules the schema cannot say in one line."""
    if training["cv_folds"] == 1:
        raise ConfigError("config key 'training.cv_folds' has value 1; allowed: 0 (one validation part) or >= 2")


def cell_settings(config: Mapping) -> dict:
    """The settings every cell depends on besides its own values.

    A change to any of them must retrain every cell; nothing else may be here.
    """
    return {
        "dataset": dict(config["dataset"]),
        "split": dict(config["split"]),
        "preprocessing": dict(config["preprocessing"]),
        "training": dict(config["training"]),
        "model": dict(config["model"]),
    }


def describe_settings(config: Mapping) -> str:
    """One sentence on how every cell trained, for figure captions."""
    training, split = config["training"], config["split"]
    folds = f"{training['cv_folds']} CV folds" if training["cv_folds"] else "one validation part"
    fixed = [f"{axis} {training[axis]}" for axis in gridlib.TRAINING_AXES if axis not in config["grid"]]
    optimizer = training["optimizer"] + (f" (momentum {training['momentum']})" if training["momentum"] else "")
    return (
        f"Data set {config['dataset']['source']} ({split['test_size']:.0%} held out as the test part), "
        f"{config['preprocessing']['scaler']} scaling; model {config['model']['builder']}; "
        f"every cell trained {training['repetitions']} repetition(s) × ({folds} + one test model) "
        f"for {training['epochs']} epochs with {optimizer}"
        + (f", {', '.join(fixed)}" if fixed else "")
        + f"; cells are ranked by the mean CV {training['metric']}."
    )


def settings_digest(settings: Mapping) -> str:
    """A short stable fingerprint of a cell's settings."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_experiment(config: Mapping, search_path: list[str]) -> int:
    """All checks that need the defaults filled in: training, grid, builder, data set.

    Loads the data set once (no TensorFlow) to check it can be split as asked,
    and returns its number of rows.
    """
    from gridflow.data import check_split_feasible, load_dataset

    check_training(config["training"])
    check_grid(config["grid"], builder_axes(config["model"]["builder"], search_path))
    dataset = load_dataset(config["dataset"]["source"], config["dataset"]["target"])
    split = config["split"]
    check_split_feasible(dataset, split["test_size"], config["training"]["cv_folds"], split["validation_size"])
    return len(dataset.labels)


def validate_config(config: dict, schema_path: str | Path, search_path: list[str]) -> int:
    """Check ``config`` completely and fill in the schema's defaults, in place.

    Returns the data set's number of rows.

    Raises
    ------
    ConfigError
        With a one-line message for the first problem found.
    """
    from snakemake.utils import validate

    check_schema(config, load_schema(schema_path))
    validate(config, str(schema_path))  # cannot fail now; fills in the defaults
    return check_experiment(config, search_path)


def cell_runtime_minutes(training: Mapping, batch_size: int, n_train_rows: int, attempt: int = 1) -> int:
    """An honest upper bound of one cell job's wall time, for a scheduler.

    One minute of start-up (imports, compiling) plus every model's steps at
    ``model.fit``'s pace on a CPU (about 3 ms per step of a small network),
    so even a cell that falls back to ``model.fit`` fits; doubled per retry.
    """
    folds = training["cv_folds"] or 1
    models = training["repetitions"] * (folds + 1)
    steps = training["epochs"] * -(-n_train_rows // batch_size)
    seconds = 60 + models * steps * 0.003
    return int(-(-seconds // 60)) * 2 ** (attempt - 1)
