"""The config's JSON schema, and its violations as one line each: the key, the value and what is allowed.

Pure Python (no TensorFlow): runs while Snakemake parses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from gridflow.errors import ConfigError


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
    if rule == "pattern" and "package.module:function" in error.schema.get("description", ""):
        return ("mlp or " if error.schema["description"].startswith("mlp") else "null or ") + "package.module:function"
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
