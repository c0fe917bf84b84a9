"""Check an experiment's config before any job runs: the schema, then what it cannot say.

Every problem is reported as one line that names the key, the value and what
is allowed. Pure Python (no TensorFlow): runs while Snakemake parses.
"""

from __future__ import annotations

import math
from pathlib import Path

from gridflow.errors import ConfigError
from gridflow.spec.axes import PREPROCESSING_AXES, check_grid
from gridflow.spec.metrics import METRICS_BY_TASK
from gridflow.spec.schema import check_schema, load_schema
from gridflow.spec.search import check_search
from gridflow.spec.signature import builder_axes, transformer_axes


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


def validate_config(config: dict, schema_path: str | Path, search_path: list[str]) -> None:
    """Check ``config`` and fill in the schema's defaults, in place: the schema, training, the grid, the builder.

    The data set is checked next, by gridflow.data.feasible.check_data.

    Raises
    ------
    ConfigError
        With a one-line message for the first problem found.
    """
    from snakemake.utils import validate

    check_schema(config, load_schema(schema_path))
    validate(config, str(schema_path))  # cannot fail now; fills in the defaults
    check_training(config["training"], config["dataset"]["task"])
    builder_takes = builder_axes(config["model"]["builder"], search_path)
    check_grid(config["grid"], builder_takes, check_transformer(config, search_path))
    check_search(config)


def check_transformer(config: dict, search_path: list[str]) -> tuple[str, ...] | None:
    """The grid axes a user's transformer takes (None: any; none without a transformer).

    Raises ConfigError if its function cannot be found, or the grid has an axis of the built-in preprocessing,
    which the transformer replaces.
    """
    transformer, fill_value = config["preprocessing"]["transformer"], config["preprocessing"]["fill_value"]
    if not math.isfinite(fill_value):
        raise ConfigError(f"config key 'preprocessing.fill_value' has value {fill_value}; allowed: a finite number")
    if not transformer:
        return ()
    built_in = [axis for axis in PREPROCESSING_AXES if axis in config["grid"]]
    if built_in:
        raise ConfigError(
            f"grid axis '{built_in[0]}' is the built-in preprocessing's, which preprocessing.transformer "
            f'"{transformer}" replaces; allowed: that function\'s own parameters as axes'
        )
    return transformer_axes(transformer, search_path)
