"""A cell's key: exactly what determines its models' training. Snakemake reruns a cell when, and only when, it changes.

The rule, decided here and only here: a config key is in a cell's key when it
can change what a model of the cell computes: the data set, the split, the
preprocessing, the training settings that reach the models, the builder (and
its module's source), and the cell's own values. It is not in the key when

- it only ranks, analyses, draws or exports (``DOES_NOT_SHAPE_TRAINING``);
- no model of the cell uses its value: a training default the grid overrides
  for every cell, SGD's momentum under another optimizer, the validation
  part's size under cross-validation, a file's label column for a built-in
  data set (written as null, or momentum 0);
- it was added to gridflow after results existed, and stands at the value
  that trains as before it existed (``ADDED_LATER``): an upgrade keeps every
  finished cell.

Every config key is placed on one side of the line here; a test walks the
schema, so a new key must be placed deliberately, and pins the default
config's key, so a new key that would retrain every existing results folder
fails it. ``TRAINING_REVISION`` is raised by a gridflow version that changes
what training computes for the same settings: then every cell retrains.
Pure Python: runs while Snakemake parses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from gridflow.spec.axes import PREPROCESSING_AXES, TRAINING_AXES
from gridflow.spec.datasets import BUILTIN_DATASETS

TRAINING_REVISION = 1

# "section.key" of every config key that can change what a cell's models compute.
SHAPES_TRAINING = frozenset(
    {
        "dataset.source", "dataset.target", "dataset.task",
        "split.test_size", "split.validation_size", "split.seed",
        "preprocessing.scaler", "preprocessing.impute", "preprocessing.fill_value", "preprocessing.transformer",
        "training.epochs", "training.batch_size", "training.learning_rate", "training.repetitions",
        "training.cv_folds", "training.seed", "training.optimizer", "training.momentum", "training.class_weight",
        "training.trainer",
        "model.builder",
    }
)  # fmt: skip
# Keys that only rank, analyse, draw or export: changing them retrains nothing.
DOES_NOT_SHAPE_TRAINING = frozenset(
    {
        "training.metric", "training.keep_state", "analysis.alpha", "export.tensorboard", "figures.heatmaps",
        "figures.curves_top",
        # Which cells train and for how long: a cell's own values and epochs say what it computes.
        "search.strategy", "search.n_cells", "search.seed", "search.factor", "search.min_epochs", "search.max_epochs",
    }
)  # fmt: skip
# Keys added after results existed -> the value that trains as before they existed; left out of the key at it.
ADDED_LATER = {
    "dataset.task": "classification",
    "preprocessing.impute": "median",
    "preprocessing.fill_value": 0,
    "preprocessing.transformer": None,
}
# The sections a cell's settings hold, as the trainer reads them.
SECTIONS = ("dataset", "split", "preprocessing", "training", "model")


def _section(config: Mapping, name: str) -> dict:
    """The training-shaping keys of one config section, without the added-later ones at their old value."""
    keys = sorted(k.split(".", 1)[1] for k in SHAPES_TRAINING if k.startswith(f"{name}."))
    out = {}
    for key in keys:
        dotted = f"{name}.{key}"
        value = config[name].get(key, ADDED_LATER.get(dotted))
        if dotted in ADDED_LATER and value == ADDED_LATER[dotted]:
            continue
        out[key] = value
    return out


def shared_settings(
    config: Mapping, *, builder_source: str, optimizer: str | None = None, transformer_source: str = ""
) -> dict:
    """The settings part of the key of every cell whose optimizer is ``optimizer`` (None: the config's).

    ``builder_source``, ``transformer_source``: digests of the builder's and
    the transformer's modules (gridflow.spec.signature.source_digest).
    """
    settings = {name: _section(config, name) for name in SECTIONS}
    training, split, dataset = settings["training"], settings["split"], settings["dataset"]
    for axis in TRAINING_AXES:
        if axis in config["grid"]:
            training[axis] = None  # every cell trains with its own value
    _preprocessing(settings["preprocessing"], config["grid"], transformer_source)
    if config.get("search", {}).get("strategy") == "halving":
        training["epochs"] = None  # every cell trains for its round's epochs
    if (optimizer or training["optimizer"]) != "sgd":
        training["momentum"] = 0.0  # only SGD has momentum
    if training["cv_folds"]:
        split["validation_size"] = None  # only holdout mode holds a validation part out
    if dataset["source"] in BUILTIN_DATASETS:
        dataset["target"] = None  # a built-in data set names its own label
    settings["model"]["source"] = builder_source
    return {"gridflow": TRAINING_REVISION, **settings}


def _preprocessing(section: dict, grid: Mapping, transformer_source: str) -> None:
    """Leave out of the preprocessing section what no model uses: the built-in's settings beside a transformer
    (whose module's source is in instead), a fill value no cell fills with, a setting every cell has an axis for."""
    if section.get("transformer"):
        section["scaler"] = None
        section.pop("impute", None)
        section.pop("fill_value", None)
        section["source"] = transformer_source
        return
    for axis in PREPROCESSING_AXES:
        if axis in grid:
            section[axis] = None  # every cell has its own value
    if "impute" not in grid and section.get("impute", ADDED_LATER["preprocessing.impute"]) != "constant":
        section.pop("fill_value", None)
    if "fill_value" in section:
        section["fill_value"] = float(section["fill_value"])


def split_settings(config: Mapping) -> dict:
    """What the split depends on: the data set, the split keys and the number of folds, as in the cells' keys."""
    settings = shared_settings(config, builder_source="")
    return {"dataset": settings["dataset"], "split": settings["split"], "cv_folds": settings["training"]["cv_folds"]}


def trained_settings(settings: Mapping) -> dict:
    """Settings as a job reads them: a key's settings (a cell's, or the split's) with the added-later keys back."""
    full = {name: dict(value) if isinstance(value, Mapping) else value for name, value in settings.items()}
    for dotted, value in ADDED_LATER.items():
        section, key = dotted.split(".", 1)
        if section in full:
            full[section].setdefault(key, value)
    return full


def key_digest(key: Mapping) -> str:
    """A short stable fingerprint of a key (any dict order)."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def budget_free_digest(values: Mapping, settings: Mapping) -> str:
    """The digest of a cell's key without its epochs: cells equal in it are one training at different budgets,
    so each can go on from another's state (gridflow.train.state)."""
    training = {k: v for k, v in settings["training"].items() if k != "epochs"}
    free = {
        "values": {k: v for k, v in values.items() if k != "epochs"},
        "settings": {**settings, "training": training},
    }
    return key_digest(free)
