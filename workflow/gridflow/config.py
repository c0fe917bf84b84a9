"""Check an experiment's config before any job runs: the schema, then what it cannot say.

Every problem is reported as one line that names the key, the value and what
is allowed. Pure Python (no TensorFlow): runs while Snakemake parses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from gridflow.axes import check_grid
from gridflow.data import check_split_feasible, load_dataset
from gridflow.errors import ConfigError
from gridflow.scoring import METRICS_BY_TASK
from gridflow.signature import builder_axes


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
    if rule == "enum":  # YAML's spelling: null, not None
        return "one of " + ", ".join("null" if v is None else str(v) for v in limit)
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


def check_training(training: dict, task: str) -> None:
    """Rules the schema cannot say in one line; fills in the task's default metric (null)."""
    if training["cv_folds"] == 1:
        raise ConfigError("config key 'training.cv_folds' has value 1; allowed: 0 (one validation part) or >= 2")
    metrics = METRICS_BY_TASK[task]
    if training["metric"] is None:
        training["metric"] = metrics[0]
    if training["metric"] not in metrics:
        raise ConfigError(
            f"config key 'training.metric' has value \"{training['metric']}\"; with dataset.task {task}, "
            f"allowed: {', '.join(metrics)}"
        )
    if task == "regression" and training["class_weight"] != "none":
        raise ConfigError(
            f"config key 'training.class_weight' has value \"{training['class_weight']}\"; with dataset.task "
            "regression there are no classes to weight; allowed: none"
        )


def check_experiment(config: Mapping, search_path: list[str]) -> int:
    """All checks that need the defaults filled in: training, grid, builder, data set.

    Loads the data set once (no TensorFlow) to check it can be split as asked,
    and returns its number of rows.
    """
    check_training(config["training"], config["dataset"]["task"])
    check_grid(config["grid"], builder_axes(config["model"]["builder"], search_path))
    dataset = load_dataset(config["dataset"]["source"], config["dataset"]["target"], config["dataset"]["task"])
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
