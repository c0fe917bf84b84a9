"""A cell's key (gridflow.spec.key): exactly what shapes its training, placed key by key."""

import copy

import pytest
import yaml
from conftest import ROOT

from gridflow.data.feasible import check_data
from gridflow.spec.check import validate_config
from gridflow.spec.key import (
    ADDED_LATER,
    DOES_NOT_SHAPE_TRAINING,
    SHAPES_TRAINING,
    key_digest,
    shared_settings,
    split_settings,
    trained_settings,
)

SCHEMA_PATH = ROOT / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
DEFAULT = yaml.safe_load((ROOT / "config/config.yaml").read_text())
# A value of every training-shaping key other than the default config's, valid with the default grid.
CHANGED = {
    "dataset.source": "diabetes",
    "dataset.target": "y",
    "dataset.task": "regression",
    "split.test_size": 0.3,
    "split.validation_size": 0.3,
    "split.seed": 7,
    "preprocessing.scaler": "minmax",
    "preprocessing.impute": "mean",
    "preprocessing.fill_value": 1.5,
    "preprocessing.transformer": "myprep:prep",
    "training.epochs": 21,
    "training.batch_size": 16,
    "training.learning_rate": 0.2,
    "training.repetitions": 2,
    "training.cv_folds": 3,
    "training.seed": 7,
    "training.optimizer": "adam",
    "training.momentum": 0.9,
    "training.class_weight": "balanced",
    "training.trainer": "fit",
    "model.builder": "mymodels:two_layers",
}
# What the change of a key needs around it to be used at all (otherwise it is rightly not in the key).
CONTEXT = {
    "dataset.target": {"dataset.source": "data.csv"},
    "dataset.task": {"dataset.source": "data.csv"},
    "split.validation_size": {"training.cv_folds": 0},
    "preprocessing.fill_value": {"preprocessing.impute": "constant"},
    "training.batch_size": {"grid.batch_size": None},
    "training.learning_rate": {"grid.learning_rate": None},
}


def schema_keys() -> set[str]:
    """Every "section.key" of the schema (the grid's axes are the cell's own values)."""
    return {
        f"{section}.{key}"
        for section, spec in SCHEMA["properties"].items()
        if section != "grid"
        for key in spec["properties"]
    }


def with_keys(config: dict, changes: dict) -> dict:
    """A copy of ``config`` with "section.key" values set (None: the key removed)."""
    config = copy.deepcopy(config)
    for dotted, value in changes.items():
        section, key = dotted.split(".", 1)
        if value is None:
            config.setdefault(section, {}).pop(key, None)
        else:
            config.setdefault(section, {})[key] = value
    return config


def settings_of(config: dict) -> dict:
    """The settings part of the cells' key, for a config as the workflow reads it (defaults filled in)."""
    config = copy.deepcopy(config)
    validate_config(config, SCHEMA_PATH, [str(ROOT / "tests/data")])
    return shared_settings(config, builder_source=config["model"]["builder"])


def test_every_config_key_is_placed_on_one_side_of_the_line():
    assert not SHAPES_TRAINING & DOES_NOT_SHAPE_TRAINING
    assert schema_keys() == SHAPES_TRAINING | DOES_NOT_SHAPE_TRAINING
    assert set(ADDED_LATER) <= SHAPES_TRAINING
    assert set(CHANGED) == SHAPES_TRAINING  # every training key is tried below


@pytest.mark.parametrize("key", sorted(SHAPES_TRAINING))
def test_changing_a_key_that_shapes_training_changes_every_cells_key(key):
    base = with_keys(DEFAULT, CONTEXT.get(key, {}))
    changed = with_keys(base, {key: CHANGED[key]})
    assert key_digest(shared_settings_unchecked(changed)) != key_digest(shared_settings_unchecked(base))


def shared_settings_unchecked(config: dict) -> dict:
    """The key of a config filled with the schema's defaults, without the checks that need its data or builder."""
    from snakemake.utils import validate

    config = copy.deepcopy(config)
    validate(config, str(SCHEMA_PATH))
    return shared_settings(config, builder_source=config["model"]["builder"])


@pytest.mark.parametrize(
    "change",
    [
        {"training.metric": "f1"},
        {"analysis.alpha": 0.01},
        {"figures.heatmaps": ["slice"], "figures.curves_top": 0},
        {"export.tensorboard": False},
    ],
    ids=["metric", "alpha", "figures", "export"],
)
def test_keys_that_rank_analyse_draw_or_export_leave_the_key_alone(change):
    assert settings_of(with_keys(DEFAULT, change)) == settings_of(DEFAULT)


@pytest.mark.parametrize(
    "change",
    [
        {"training.batch_size": 8, "training.learning_rate": 0.3},  # the default grid has both axes
        {"training.momentum": 0.5, "training.optimizer": "adam"},  # only SGD has momentum...
        {"split.validation_size": 0.4},  # ...and only holdout mode a validation part
        {"dataset.target": "label"},  # a built-in data set names its own label
        {"preprocessing.fill_value": 2.5},  # only impute constant fills with it
        {"preprocessing.scaler": "minmax", "preprocessing.impute": "mean"},  # a transformer replaces both
    ],
    ids=[
        "overridden-by-the-grid",
        "momentum-under-adam",
        "validation-under-cv",
        "target-of-a-built-in",
        "fill-value-of-median",
        "built-in-beside-a-transformer",
    ],  # fmt: skip
)
def test_values_no_model_uses_leave_the_key_alone(change):
    base = with_keys(DEFAULT, {"training.optimizer": "adam"} if "training.momentum" in change else {})
    if "preprocessing.impute" in change:
        base = with_keys(base, {"preprocessing.transformer": "myprep:prep"})
    assert settings_of(with_keys(base, change)) == settings_of(base)


@pytest.mark.parametrize("key", sorted(ADDED_LATER))
def test_a_key_added_later_at_its_old_value_keys_as_if_it_did_not_exist(key):
    at_default = with_keys(DEFAULT, {key: ADDED_LATER[key]})
    absent = with_keys(DEFAULT, {key: None})
    assert settings_of(at_default) == settings_of(absent)
    # A config of the version before the key, which never had it (not even filled in by the schema):
    filled = copy.deepcopy(at_default)
    validate_config(filled, SCHEMA_PATH, [])
    older = with_keys(filled, {key: None})
    assert shared_settings(older, builder_source="mlp") == shared_settings(filled, builder_source="mlp")
    section, name = key.split(".", 1)
    assert name not in shared_settings(filled, builder_source="mlp")[section]
    assert trained_settings(shared_settings(filled, builder_source="mlp"))[section][name] == ADDED_LATER[key]


def test_the_default_configs_key_is_pinned():
    """Changed by a new key (or a changed default) that would retrain every results folder of an earlier version:
    place the key in ADDED_LATER with the value that trains as before, or raise TRAINING_REVISION on purpose."""
    settings = settings_of(DEFAULT)
    assert settings["model"].pop("source") == "mlp"  # the builder's source digest: its own test below
    assert settings == {
        "gridflow": 1,
        "dataset": {"source": "breast_cancer", "target": None},
        "split": {"seed": 42, "test_size": 0.2, "validation_size": None},
        "preprocessing": {"scaler": "standard"},
        "training": {"batch_size": None, "class_weight": "none", "cv_folds": 5, "epochs": 20, "learning_rate": None,
                     "momentum": 0.0, "optimizer": "sgd", "repetitions": 3, "seed": 42, "trainer": "auto"},
        "model": {"builder": "mlp"},
    }  # fmt: skip


def test_the_key_is_the_same_in_any_dict_order():
    settings = settings_of(DEFAULT)
    reordered = {name: settings[name] for name in reversed(settings)}
    assert key_digest({"values": {"a": 1, "b": 2}, "settings": reordered}) == key_digest(
        {"settings": settings, "values": {"b": 2, "a": 1}}
    )


def test_editing_the_builders_module_changes_its_key(tmp_path):
    from gridflow.spec.signature import builder_source_digest

    module = tmp_path / "edited.py"
    module.write_text("def net(n_features, n_classes, width=8):\n    return None\n")
    before = builder_source_digest("edited:net", [str(tmp_path)])
    module.write_text("def net(n_features, n_classes, width=16):\n    return None\n")
    assert builder_source_digest("edited:net", [str(tmp_path)]) != before


def test_a_transformers_module_source_is_in_the_key_in_place_of_the_built_in_settings():
    config = with_keys(DEFAULT, {"preprocessing.transformer": "myprep:prep"})
    validate_config(config, SCHEMA_PATH, [str(ROOT / "tests/data")])
    first = shared_settings(config, builder_source="mlp", transformer_source="digest-1")
    assert first["preprocessing"] == {"scaler": None, "transformer": "myprep:prep", "source": "digest-1"}
    assert shared_settings(config, builder_source="mlp", transformer_source="digest-2") != first


def test_the_split_is_keyed_like_the_cells():
    config = copy.deepcopy(DEFAULT)
    validate_config(config, SCHEMA_PATH, [])
    check_data(config)
    split = split_settings(config)
    assert split == {"dataset": {"source": "breast_cancer", "target": None},
                     "split": {"seed": 42, "test_size": 0.2, "validation_size": None}, "cv_folds": 5}  # fmt: skip
    assert trained_settings(split)["dataset"]["task"] == "classification"
