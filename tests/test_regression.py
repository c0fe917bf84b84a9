"""Regression targets: a numeric label, end to end, with errors for the task's mistakes."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import snakemake, write_config

from gridflow.analysis.scores import score_cells
from gridflow.results.history import read_cell
from gridflow.results.scoring import score_regression

# A linear label far from 0 and 1: metrics in the label's own units are told apart from scaled ones.
N_ROWS, N_FEATURES, CENTER, SPREAD = 300, 6, 1000.0, 100.0


def linear_table(path, *, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_ROWS, N_FEATURES))
    label = x @ rng.uniform(0.5, 1.5, N_FEATURES)
    label = CENTER + SPREAD * (label + noise * rng.standard_normal(N_ROWS)) / label.std()
    table = pd.DataFrame(x, columns=[f"x{i}" for i in range(N_FEATURES)]).assign(price=label)
    table.to_csv(path, index=False)
    return table


def test_regression_metrics_equal_scikit_learns():
    from sklearn import metrics

    rng = np.random.default_rng(1)
    truth = rng.normal(50, 10, 40)
    predicted = truth + rng.normal(0, 3, 40)
    got = score_regression(truth, predicted[:, None])
    assert got["r2"] == pytest.approx(metrics.r2_score(truth, predicted))
    assert got["mse"] == pytest.approx(metrics.mean_squared_error(truth, predicted))
    assert got["rmse"] == pytest.approx(metrics.root_mean_squared_error(truth, predicted))
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(truth, predicted))


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    """A linear label: the linear network with a working learning rate against one far too small."""
    workdir = tmp_path_factory.mktemp("linear")
    linear_table(workdir / "linear.csv")
    config = {
        "dataset": {"source": "linear.csv", "target": "price", "task": "regression"},
        "training": {"epochs": 20, "repetitions": 2, "cv_folds": 3, "batch_size": 16},
        "grid": {"activation": ["linear"], "hidden_units": [16], "learning_rate": [0.05, 1e-6]},
    }
    write_config(workdir, config)
    snakemake(workdir, "--cores", "2")
    table = pd.read_csv(workdir / "results/summary.csv").set_index("param_learning_rate")
    best = json.loads((workdir / "results/best.json").read_text())
    return workdir, table, best


def test_a_linear_label_is_learnt_and_beats_a_bad_setting_by_far(linear_run):
    _, table, best = linear_run
    assert (table["status"] == "ok").all()
    good, bad = table.loc[0.05], table.loc[1e-6]
    assert good["mean_test_r2"] > 0.95 and good["mean_holdout_r2"] > 0.95
    assert bad["mean_test_r2"] < 0.5
    assert good["rank_test_r2"] == 1 and good["rank_test_rmse"] == 1  # r2 ranks descending, errors ascending
    assert best["metric"] == "r2" and best["params"]["learning_rate"] == 0.05


def test_metrics_are_in_the_labels_own_units(linear_run):
    _, table, best = linear_run
    good = table.loc[0.05]
    assert 0.005 * SPREAD < good["mean_test_rmse"] < 0.25 * SPREAD  # trained on a scaled label, scored unscaled
    assert good["mean_test_mse"] == pytest.approx(good["mean_test_rmse"] ** 2, rel=0.2)
    # R² ties the error to the label's spread: rmse = spread x sqrt(1 - R²) only in the label's own units.
    spread = best["baseline"]["cv"]["rmse"]["mean"]
    assert good["mean_test_rmse"] == pytest.approx(spread * np.sqrt(1 - good["mean_test_r2"]), rel=0.15)
    # The mean predictor: R^2 about 0, RMSE about the label's spread.
    baseline = best["baseline"]
    assert baseline["cv"]["r2"]["mean"] == pytest.approx(0, abs=0.05)
    assert baseline["cv"]["rmse"]["mean"] == pytest.approx(SPREAD, rel=0.15)
    assert "mean" in baseline["strategy"]


def test_every_output_follows_the_task(linear_run):
    workdir, _, _ = linear_run
    path = next((workdir / "results/cells").rglob("metrics.json"))
    (cell,) = score_cells([str(path)], str(workdir / "results/data/split.npz"))
    assert set(cell.scores[0]) == {"r2", "mse", "rmse", "mae"}
    assert read_cell(path)[1].history_keys == ("loss", "mae", "val_loss", "val_mae")
    importance = pd.read_csv(workdir / "results/importance.csv")
    assert importance["term"].tolist() == ["learning_rate"] and importance["share"].iloc[0] == pytest.approx(1)
    assert (workdir / "results/figures/learning_curves.svg").read_text().count("mean absolute error") >= 1
    heatmap_less = (workdir / "results/figures/effects/learning_rate.svg").read_text()
    assert "R²" in heatmap_less
    page = (workdir / "results/tables/best_cell.html").read_text()
    assert "rmse" in page and "mean of the training labels" in page
    runs = [p for p in (workdir / "results/tensorboard").iterdir() if p.is_dir()]
    assert len(runs) == 2


def test_diabetes_is_built_in_and_runs_end_to_end(tmp_path):
    config = {
        "dataset": {"source": "diabetes", "task": "regression"},
        "training": {"epochs": 5, "repetitions": 1, "cv_folds": 2, "metric": "mae"},
        "grid": {"hidden_units": [4, 16], "learning_rate": [0.01]},
    }
    write_config(tmp_path, config)
    snakemake(tmp_path, "--cores", "2")
    table = pd.read_csv(tmp_path / "results/summary.csv")
    assert len(table) == 2 and (table["status"] == "ok").all()
    assert table["mean_test_mae"].is_monotonic_increasing  # ranked by mae, lower first
    assert (table["mean_test_mae"] > 20).all()  # diabetes progression is in the tens to hundreds


def run_check(tmp_path, config: dict, table: pd.DataFrame | None = None):
    """The one line a mistaken config stops with (before any job)."""
    if table is not None:
        table.to_csv(tmp_path / "data.csv", index=False)
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "--cores", "1", "-n", check=False)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gridflow: config error: ")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


def test_a_continuous_label_under_classification_suggests_regression(tmp_path):
    table = linear_table(tmp_path / "unused.csv")
    line = run_check(tmp_path, {"dataset": {"source": "data.csv", "target": "price"}, "grid": {"hidden_units": [4]}},
                     table)  # fmt: skip
    assert "'dataset.task'" in line and "classification" in line and "task: regression" in line
    diabetes = run_check(tmp_path, {"dataset": {"source": "diabetes"}, "grid": {"hidden_units": [4]}})
    assert "task: regression" in diabetes


def test_a_text_label_under_regression_is_refused(tmp_path):
    table = pd.DataFrame({"x": np.arange(40.0), "kind": ["a", "b"] * 20})
    config = {"dataset": {"source": "data.csv", "target": "kind", "task": "regression"}, "grid": {"hidden_units": [4]}}
    line = run_check(tmp_path, config, table)
    assert "'dataset.target'" in line and "not numeric" in line and "task: classification" in line


@pytest.mark.parametrize(
    ("task", "training", "expected"),
    [
        ("regression", {"metric": "accuracy"}, "config key 'training.metric' has value \"accuracy\""),
        ("classification", {"metric": "r2"}, "config key 'training.metric' has value \"r2\""),
        ("regression", {"class_weight": "balanced"}, "config key 'training.class_weight' has value \"balanced\""),
    ],
)
def test_settings_of_the_other_task_are_refused(tmp_path, task, training, expected):
    source = "diabetes" if task == "regression" else "breast_cancer"
    config = {"dataset": {"source": source, "task": task}, "training": training, "grid": {"hidden_units": [4]}}
    assert expected in run_check(tmp_path, config)


def test_a_builder_ending_in_softmax_fails_a_regression_cell_with_the_reason():
    """A softmax over one unit outputs 1.0 whatever the input: the cell would train and learn nothing."""
    from gridflow.train.backend import keras_runtime

    keras = keras_runtime(1)
    from gridflow.train.builders import mlp
    from gridflow.train.seeding import build_seeded

    def softmax_head(n_features, n_classes):
        inputs = keras.Input(shape=(n_features,))
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(inputs))

    with pytest.raises(ValueError, match="ending in one linear unit; it ends in 1 unit.s. with activation softmax"):
        build_seeded(softmax_head, {}, n_features=3, n_classes=1, seed=0, task="regression")
    model = build_seeded(mlp, {"hidden_units": 4}, n_features=3, n_classes=1, seed=0, task="regression")
    assert model.output_shape == (None, 1)
