"""Bad input gets one line naming the key, the value and what is allowed."""

import copy

import pytest
import yaml
from conftest import ROOT

from gridflow.data.feasible import check_data
from gridflow.errors import ConfigError
from gridflow.spec.axes import ACTIVATIONS
from gridflow.spec.check import validate_config
from gridflow.spec.schema import load_schema

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config/config.yaml").read_text())


def check(config, search_path=()):
    config = copy.deepcopy(config)
    validate_config(config, SCHEMA, list(search_path))
    check_data(config)
    return config


def error_of(config, search_path=()) -> str:
    with pytest.raises(ConfigError) as caught:
        check(config, search_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def with_change(path: str, value):
    config = copy.deepcopy(DEFAULT)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


def test_default_config_is_valid_and_has_the_blog_posts_grid():
    config = check(DEFAULT)
    assert config["training"]["epochs"] == 20
    assert [len(v) for v in config["grid"].values()] == [3, 2, 3, 3, 4]


def test_missing_sections_take_schema_defaults():
    config = check({"grid": {"hidden_units": [2]}})
    assert config["split"]["test_size"] == 0.2
    assert config["training"]["cv_folds"] == 5
    assert config["model"]["builder"] == "mlp"


def test_unknown_top_level_key():
    message = error_of({**DEFAULT, "trainig": {}})
    assert "unknown key 'trainig'" in message and "training" in message


def test_unknown_nested_key():
    message = error_of(with_change("training.epoch", 3))
    assert "'epoch'" in message and "training" in message and "epochs" in message


def test_typo_in_grid_axis_names_allowed_axes():
    config = copy.deepcopy(DEFAULT)
    config["grid"]["learing_rate"] = config["grid"].pop("learning_rate")
    message = error_of(config)
    assert "learing_rate" in message and "learning_rate" in message and "dropout" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("training.epochs", 0, "training.epochs"),
        ("training.epochs", -3, "training.epochs"),
        ("training.repetitions", 0, "training.repetitions"),
        ("split.test_size", 1.5, "split.test_size"),
        ("split.test_size", 0, "split.test_size"),
        ("training.metric", "auc", "one of accuracy, loss, roc_auc, f1, precision, recall"),
        ("preprocessing.scaler", "robust", "one of standard, minmax, none"),
        ("model.builder", "not a builder", "mlp or package.module:function"),
        ("figures.heatmaps", ["slice", "margnal"], "one of slice, marginal"),
        ("figures.heatmaps", ["slice", "slice"], "a list without repeated values"),
        ("figures.curves_top", 21, "<= 20"),
    ],
)
def test_schema_errors_name_key_value_and_allowed(path, value, expected):
    message = error_of(with_change(path, value))
    assert path in message or path.split(".")[-1] in message
    assert str(value[-1] if isinstance(value, list) else value) in message  # a list's offending (last) item
    assert expected in message


def test_one_fold_is_rejected():
    message = error_of(with_change("training.cv_folds", 1))
    assert "training.cv_folds" in message and "0" in message and ">= 2" in message


def test_more_folds_than_the_smallest_class_has_samples():
    message = error_of(with_change("training.cv_folds", 500))
    assert "training.cv_folds" in message and "500" in message and "malignant" in message


@pytest.mark.parametrize(
    ("axis", "values", "expected"),
    [
        ("dropout", [0, 1], "[0, 1)"),
        ("dropout", [-0.1], "[0, 1)"),
        ("batch_size", [0], ">= 1"),
        ("batch_size", [4.5], ">= 1"),
        ("hidden_units", [-2], ">= 1"),
        ("learning_rate", [0], "> 0"),
        ("activation", ["rleu"], "relu"),
    ],
)
def test_axis_value_rules(axis, values, expected):
    message = error_of(with_change(f"grid.{axis}", values))
    assert f"grid.{axis}" in message and expected in message


def test_empty_axis():
    message = error_of(with_change("grid.dropout", []))
    assert "grid.dropout" in message and "at least 1" in message


def test_duplicate_values_even_when_spelled_differently():
    message = error_of(with_change("grid.dropout", [0.3, 0.30]))
    assert "grid.dropout" in message and "lists 0.3 twice" in message
    message = error_of(with_change("grid.hidden_units", [32, 32.0]))
    assert "lists 32.0, the same value as 32" in message


@pytest.mark.parametrize("value", ["../../x", "a/b", "two words"])
def test_path_like_values_never_pass(value):
    config = {"model": {"builder": "mymodels:anything"}, "grid": {"style": [value]}}
    message = error_of(config, search_path=[str(ROOT / "tests/data")])
    assert "grid.style" in message and "identifiers" in message


def test_builder_module_that_cannot_be_imported():
    message = error_of(with_change("model.builder", "no_such_module:build"))
    assert "model.builder" in message and "no_such_module" in message


def test_builder_function_missing(tmp_path):
    (tmp_path / "mymod.py").write_text("def other():\n    pass\n")
    message = error_of(with_change("model.builder", "mymod:build"), search_path=[str(tmp_path)])
    assert "defines no function 'build'" in message


def test_builder_signature_limits_the_axes(tmp_path):
    (tmp_path / "mymod.py").write_text("def build(n_features, n_classes, width=8):\n    pass\n")
    config = {"model": {"builder": "mymod:build"}, "grid": {"width": [4], "learning_rate": [0.1]}}
    check(config, search_path=[str(tmp_path)])
    config["grid"]["depth"] = [2]
    assert "unknown grid axis 'depth'" in error_of(config, search_path=[str(tmp_path)])


def test_activation_names_are_known_to_keras():
    import keras

    for name in ACTIVATIONS:
        assert callable(keras.activations.get(name)), name


def test_cell_runtime_grows_with_work_and_attempts():
    from gridflow.spec.resources import cell_runtime_minutes

    training = {"cv_folds": 5, "repetitions": 3, "epochs": 20}
    small_batch = cell_runtime_minutes(training, epochs=20, batch_size=4, n_train_rows=455)
    large_batch = cell_runtime_minutes(training, epochs=20, batch_size=32, n_train_rows=455)
    more_epochs = cell_runtime_minutes(training, epochs=200, batch_size=32, n_train_rows=455)
    assert small_batch > large_batch >= 1 and more_epochs > large_batch
    assert cell_runtime_minutes(training, epochs=20, batch_size=32, n_train_rows=455, attempt=2) == 2 * large_batch


def test_settings_sentence_for_captions_names_what_every_cell_shared():
    from gridflow.spec.caption import describe_settings

    config = check(DEFAULT)
    text = describe_settings(config)
    assert text.startswith(
        "Data set breast_cancer (classification, 20% held out as the test part), standard scaling; model mlp;"
    )
    assert "3 repetition(s) × (5 CV folds + one test model) for 20 epochs with sgd;" in text
    assert text.endswith("ranked by the mean CV accuracy.")
    config["grid"].pop("batch_size")
    config["training"].update(momentum=0.9, cv_folds=0)
    text = describe_settings(config)
    assert "one validation part" in text and "sgd (momentum 0.9), batch_size 32;" in text


def test_schema_heatmap_flavours_are_the_ones_drawn():
    from gridflow.report.figures.heatmaps import FLAVOURS

    schema = yaml.safe_load(SCHEMA.read_text())
    assert tuple(schema["properties"]["figures"]["properties"]["heatmaps"]["items"]["enum"]) == FLAVOURS
    assert tuple(check(DEFAULT)["figures"]["heatmaps"]) == FLAVOURS  # both by default


def test_every_metric_can_rank_cells_and_only_those():
    from gridflow.spec.metrics import METRICS_BY_TASK

    schema = load_schema(SCHEMA)
    every = [m for metrics in METRICS_BY_TASK.values() for m in metrics]
    assert schema["properties"]["training"]["properties"]["metric"]["enum"] == [*every, None]  # None: the task's own


def test_the_metric_defaults_to_the_tasks_first():
    assert check(DEFAULT)["training"]["metric"] == "accuracy"
    regression = {**DEFAULT, "dataset": {"source": "diabetes", "task": "regression"}}
    assert check(regression)["training"]["metric"] == "r2"


def test_mlp_axes_are_read_from_its_signature():
    import inspect

    from gridflow.spec.signature import builder_axes
    from gridflow.train.builders import mlp

    expected = tuple(p for p in inspect.signature(mlp).parameters if p not in ("n_features", "n_classes", "task"))
    assert builder_axes("mlp", []) == expected == ("hidden_units", "activation", "dropout")


def test_a_cell_asks_for_its_share_of_the_jobs_process_and_a_whole_one_on_a_retry():
    from gridflow.spec.resources import CELL_MB, PROCESS_MB, cell_mem_mb

    assert 8 * cell_mem_mb(cells_at_once=8) < PROCESS_MB + 8 * CELL_MB + 8  # a full group: one process
    assert cell_mem_mb(cells_at_once=1) == PROCESS_MB + CELL_MB
    assert cell_mem_mb(cells_at_once=8, attempt=2) == PROCESS_MB + CELL_MB  # a partial group, killed: whole
    assert cell_mem_mb(cells_at_once=8, attempt=3) == 2 * (PROCESS_MB + CELL_MB)


def test_a_cells_memory_grows_with_its_data():
    from gridflow.spec.resources import CELL_MB, PROCESS_MB, cell_data_mb, cell_mem_mb

    training = {"cv_folds": 2, "repetitions": 1}
    assert cell_data_mb(training, rows=569, features=30) < 2  # breast cancer: nothing to speak of
    big = cell_data_mb(training, rows=200_000, features=321)  # benchmarks/bench_tabular.py's file
    assert 2500 < big < 4000
    assert cell_mem_mb(cells_at_once=1, data_mb=big) == PROCESS_MB + CELL_MB + big
    assert cell_mem_mb(cells_at_once=1, attempt=3, data_mb=big) == 2 * (PROCESS_MB + CELL_MB + big)
