"""Real tabular data: text and yes/no columns, gaps, a user's scikit-learn transformer, preprocessing axes.

Unit tests of gridflow.data.{table,encode,transformer,prepare}; the workflow runs are in test_workflow.py.
"""

import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from gridflow.data.encode import fit_encoding, layout_of
from gridflow.data.feasible import DataSize, check_data
from gridflow.data.load import Dataset, load_dataset
from gridflow.data.prepare import Preparation, prepared_parts
from gridflow.data.scale import fit_scaler
from gridflow.data.split import FULL, Split, load_split, make_split, save_split
from gridflow.data.transformer import TransformerError, as_frame
from gridflow.errors import ConfigError
from gridflow.spec.axes import route_axes

sys.path.insert(0, str(ROOT / "tests/data"))
sys.path.insert(0, str(ROOT / "scripts"))


def write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_parquet(path) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    return str(path)


def test_text_and_yes_no_columns_become_category_codes_and_gaps_stay_gaps(tmp_path):
    frame = pd.DataFrame({"age": [30.0, None, 50.0, 41.0], "city": ["Lyon", "Nice", None, "Lyon"],
                          "member": [True, False, True, True], "y": ["a", "b", "a", "b"],
                          "yes": ["yes", "no", None, "yes"]})  # fmt: skip
    data = load_dataset(write(tmp_path, frame), "y")
    assert data.feature_names == ["age", "city", "member", "yes"]
    assert data.categories == {"city": ["Lyon", "Nice"], "yes": ["no", "yes"]}  # True/False, no gaps: 0/1, as ever
    np.testing.assert_array_equal(data.features[:, 1], [0, 1, np.nan, 0])
    np.testing.assert_array_equal(data.features[:, 2], [1, 0, 1, 1])
    assert np.isnan(data.features[1, 0])


def test_parquet_keeps_its_column_types(tmp_path):
    """Digits stored as text stay categories, integers stay numbers: nothing is guessed again."""
    frame = pd.DataFrame({"zip": ["01000", "02000", "01000", "03000"], "n": pd.array([1, 2, None, 4], "Int64"),
                          "kind": pd.Categorical(["x", "y", "x", "y"]), "y": [0, 1, 0, 1]})  # fmt: skip
    data = load_dataset(write(tmp_path, frame, "data.parquet"), "y")
    assert data.categories == {"zip": ["01000", "02000", "03000"], "kind": ["x", "y"]}
    np.testing.assert_array_equal(data.features[:, 1], [1, 2, np.nan, 4])


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0, None, 1]}), "label column 'y' has 1 missing value"),
        (pd.DataFrame({"a": [1.0, 2.0], "e": [None, None], "y": [0, 1]}), "feature column 'e' has no values"),
        (pd.DataFrame({"y": [0, 1]}), "no feature column besides the label"),
        (pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-02-01"]), "y": [0, 1]}), "feature column 'd' is of"),
    ],
    ids=["label-gap", "empty-column", "no-feature", "dates"],
)
def test_bad_columns_are_one_line_errors_naming_the_column(tmp_path, frame, expected):
    with pytest.raises(ConfigError, match=expected) as caught:
        load_dataset(write(tmp_path, frame, "data.parquet"), "y")
    assert "\n" not in str(caught.value)


def test_a_category_column_too_varied_to_one_hot_is_refused_before_any_job(tmp_path):
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(1100)], "a": np.arange(1100.0), "y": [0, 1] * 550})
    config = {"dataset": {"source": write(tmp_path, frame), "target": "y", "task": "classification"},
              "split": {"test_size": 0.2, "validation_size": 0.2}, "training": {"cv_folds": 2},
              "preprocessing": {"transformer": None}}  # fmt: skip
    with pytest.raises(ConfigError, match="feature column 'id' has 1100 distinct text values.*at most 1000"):
        check_data(config)
    config["preprocessing"]["transformer"] = "myprep:prep"  # a transformer of the user's may encode it
    assert check_data(config) == DataSize(rows=1100, features=2)  # a cell job's memory is asked for them


LAYOUT_X = np.array([[1.0, 0, 5], [3.0, 1, np.nan], [np.nan, 0, 7], [100.0, 2, np.nan]], dtype=np.float32)
CATEGORIES = {"city": ["Lyon", "Nice", "Paris"]}


def test_one_hot_in_place_with_a_gap_slot_and_unseen_categories_as_zeros():
    x = np.array([[1.0, 0], [2.0, 1], [3.0, np.nan], [4.0, 2]], dtype=np.float32)
    layout = layout_of(x, names=["n", "city"], categories=CATEGORIES)
    assert layout.widths == [None, 4] and layout.n_features == 5  # Lyon, Nice, Paris, a gap
    encode = fit_encoding(x[:3], layout, scaler="none", impute="median", fill_value=0)
    out = encode(x)
    np.testing.assert_array_equal(out[:, 1:], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert out.dtype == np.float32 and out[:, 0].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(("impute", "fill"), [("median", 2.0), ("mean", 2.0), ("constant", -1.0)])
def test_numeric_gaps_are_filled_from_the_training_rows_only(impute, fill):
    x = np.array([[1.0], [3.0], [np.nan], [1000.0], [np.nan]], dtype=np.float32)
    layout = layout_of(x, names=["n"], categories={})
    encode = fit_encoding(x[:3], layout, scaler="none", impute=impute, fill_value=-1)
    assert encode(x)[:, 0].tolist() == [1.0, 3.0, fill, 1000.0, fill]  # the 1000 row, not trained on, counts nowhere


def test_numbers_without_gaps_are_scaled_exactly_as_before():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    encode = fit_encoding(
        x[:40], layout_of(x, names=list("abcd"), categories={}), scaler="standard", impute="median", fill_value=0
    )
    np.testing.assert_array_equal(encode(x), fit_scaler("standard", x[:40])(x))


def leaky_split() -> Split:
    """A split whose category 'Nice' and whose large numbers are only in fold 0's held-out rows."""
    folds = np.array([0, 0, 1, 1, 1, 0])
    x = np.array([[1.0, 0], [2.0, 1], [np.nan, 0], [3.0, 0], [5.0, 0], [np.nan, 0]], dtype=np.float32)
    x[folds == 0, 0] = [900.0, 1000.0, np.nan]
    labels = np.array([0, 1, 0, 1, 0, 1], dtype=np.int32)
    return Split(x, labels, x[:2], labels[:2], folds, ["n", "city"], ["a", "b"], categories={"city": ["Lyon", "Nice"]})


def test_no_fold_sees_another_folds_rows():
    """Would fail if the encoder or the imputer were fitted on all training rows."""
    parts, described = prepared_parts(leaky_split(), Preparation(scaler="none"))
    fold0 = next(p for p in parts if p.fold == 0)
    assert fold0.x_train[:, 1].tolist() == [1.0, 1.0, 1.0]  # trained on Lyon only
    np.testing.assert_array_equal(fold0.x_eval[:, 1:], [[1, 0], [0, 0], [1, 0]])  # Nice, unseen: all zeros
    assert fold0.x_train[:, 0].tolist() == [4.0, 3.0, 5.0]  # the gap filled with its training rows' median
    assert fold0.x_eval[2, 0] == 4.0  # a held-out gap too, never from the 900 and 1000 it is scored on
    full = next(p for p in parts if p.fold == FULL)
    assert full.x_train[:, 2].sum() == 1  # the test model trains on every training row: it knows Nice
    assert described == {"columns_in": 2, "features_out": 3, "one_hot": ["city"], "imputed": ["n"],
                         "scaler": "none", "impute": "median"}  # fmt: skip


def test_a_users_transformer_is_fitted_per_model_and_narrow_outputs_are_padded():
    split = leaky_split()
    parts, described = prepared_parts(split, Preparation(transformer="myprep:prep", keywords=(("strategy", "mean"),)))
    assert described == {"columns_in": 2, "features_out": 3, "transformer": "myprep:prep"}
    assert {p.x_train.shape[1] for p in parts} == {3}
    fold0 = next(p for p in parts if p.fold == 0)
    np.testing.assert_array_equal(fold0.x_train[:, 1:], [[1, 0], [1, 0], [1, 0]])  # Lyon, then padding
    np.testing.assert_array_equal(fold0.x_eval[:, 1], [1, 0, 1])  # Nice ignored, as the user's encoder says


def test_the_transformer_sees_the_files_columns_text_and_gaps():
    frame = as_frame(LAYOUT_X, ["n", "city", "m"], CATEGORIES)
    assert frame["city"].tolist() == ["Lyon", "Nice", "Lyon", "Paris"]
    assert frame["n"].dtype == np.float64 and frame["m"].isna().tolist() == [False, True, False, True]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("myprep:broken", "preprocessing.transformer myprep:broken: RuntimeError: no encoder for these columns"),
        ("myprep:leaves_gaps", "preprocessing.transformer myprep:leaves_gaps gave features with gaps"),
    ],
)
def test_a_failing_transformer_is_one_line_naming_it(spec, expected):
    with pytest.raises(TransformerError, match=expected) as caught:
        prepared_parts(leaky_split(), Preparation(transformer=spec))
    assert "\n" not in str(caught.value)


def test_axes_go_to_the_functions_that_take_them():
    values = {"scaler": "minmax", "strategy": "mean", "units": 4, "learning_rate": 0.1}
    assert route_axes(values, builder_takes=None, transformer_takes=False) == (
        {"scaler": "minmax"},
        {"strategy": "mean", "units": 4},
    )
    assert route_axes(values, builder_takes=("units",), transformer_takes=("strategy",)) == (
        {"scaler": "minmax", "strategy": "mean"},
        {"units": 4},
    )
    prep = Preparation.of({"scaler": "standard", "impute": "median", "fill_value": 0, "transformer": None},
                          {"impute": "mean"})  # fmt: skip
    assert (prep.scaler, prep.impute, prep.keywords) == ("standard", "mean", ())


def test_a_split_with_categories_round_trips(tmp_path):
    data = Dataset(np.tile(LAYOUT_X, (3, 1)), np.array([0, 1] * 6, np.int32), ["n", "city", "m"], ["a", "b"],
                   categories=CATEGORIES)  # fmt: skip
    split = make_split(data, test_size=0.5, cv_folds=0, validation_size=0.5, seed=0)
    save_split(split, tmp_path / "split.npz")
    back = load_split(tmp_path / "split.npz")
    assert back.categories == CATEGORIES
    np.testing.assert_array_equal(back.x_train, split.x_train)


def test_the_customer_example_file_is_what_the_script_makes():
    from tabular_data import customers

    shipped = pd.read_csv(ROOT / "config/examples/customers.csv")
    pd.testing.assert_frame_equal(shipped, pd.read_csv(pd.io.common.StringIO(customers().to_csv(index=False))))
    assert 0.03 < shipped["age"].isna().mean() < 0.07 and 0.01 < shipped["city"].isna().mean() < 0.05


def customer_run(workdir, experiment: dict):
    """An experiment on the shipped customer file (text, yes/no and gaps), in a project-like folder."""
    import shutil

    from conftest import snakemake, write_config

    shutil.copytree(ROOT / "config/examples", workdir / "config/examples")
    shutil.copy(ROOT / "tests/data/myprep.py", workdir / "myprep.py")
    write_config(workdir, experiment)
    snakemake(workdir, "--cores", "2")
    return pd.read_csv(workdir / "results/summary.csv"), json_of(workdir / "results/best.json")


def json_of(path):
    import json

    return json.loads(path.read_text())


def cell_records(workdir):
    return {json_of(p)["cell"]: json_of(p) for p in (workdir / "results/cells").rglob("metrics.json")}


@pytest.mark.slow
def test_the_customer_example_runs_as_shipped_and_beats_chance(tmp_path):
    import yaml

    experiment = yaml.safe_load((ROOT / "config/examples/customers.yaml").read_text())
    assert "preprocessing" not in experiment  # the defaults handle text and gaps
    summary, best = customer_run(tmp_path, experiment)
    assert len(summary) == 8 and (summary["status"] == "ok").all()
    assert sorted(set(summary["param_impute"])) == ["mean", "median"]
    assert best["cv"]["accuracy"]["mean"] > best["baseline"]["cv"]["accuracy"]["mean"] + 0.05
    for record in cell_records(tmp_path).values():
        assert record["preprocessing"] == {"columns_in": 4, "features_out": 10, "one_hot": ["city", "member"],
                                           "imputed": ["age"], "scaler": "standard",
                                           "impute": record["params"]["impute"]}  # fmt: skip
    importance = pd.read_csv(tmp_path / "results/importance.csv")
    assert "impute" in set(importance.iloc[:, 0])


@pytest.mark.slow
def test_a_users_transformer_with_a_keyword_axis_and_a_failing_value(tmp_path):
    experiment = {"dataset": {"source": "config/examples/customers.csv", "target": "label"},
                  "preprocessing": {"transformer": "myprep:prep"}, "training": {"epochs": 4, "cv_folds": 2},
                  "figures": {"curves_top": 0}, "export": {"tensorboard": False},
                  "grid": {"strategy": ["mean", "bogus"]}}  # fmt: skip
    summary, best = customer_run(tmp_path, experiment)
    records = cell_records(tmp_path)
    assert records["strategy~mean"]["status"] == "ok" and best["params"] == {"strategy": "mean"}
    assert records["strategy~mean"]["preprocessing"] == {"columns_in": 4, "features_out": 10,
                                                         "transformer": "myprep:prep"}  # fmt: skip
    failed = records["strategy~bogus"]
    assert failed["status"] == "failed" and failed["error"].startswith("preprocessing.transformer myprep:prep: ")
    assert "\n" not in failed["error"] and failed["models"] == []
    assert summary.set_index("params")["status"].to_dict() == {'{"strategy": "bogus"}': "failed",
                                                               '{"strategy": "mean"}': "ok"}  # fmt: skip


def test_a_training_process_reads_its_split_once_whatever_the_preparations(tmp_path, monkeypatch):
    from gridflow.train import plan

    data = load_dataset(str(ROOT / "config/examples/customers.csv"), "label")
    save_split(make_split(data, test_size=0.2, cv_folds=2, validation_size=0.2, seed=0), tmp_path / "split.npz")
    reads = []
    monkeypatch.setattr(plan, "load_split", lambda path: reads.append(path) or load_split(path))
    plan.clear_plan_cache()
    for impute in ["median", "mean", "median", "constant", "mean"]:
        cell = plan.plan_cell(
            str(tmp_path / "split.npz"), repetitions=1, seed=0, preparation=Preparation(impute=impute)
        )
        assert cell.n_features == 10 and cell.preprocessing["impute"] == impute
    assert len(reads) == 1


def test_a_column_without_values_in_a_models_training_rows_gets_0_under_median():
    x = np.array([[np.nan], [np.nan], [5.0]], dtype=np.float32)
    encode = fit_encoding(x[:2], layout_of(x, names=["n"], categories={}), scaler="none", impute="median", fill_value=9)
    assert encode(x)[:, 0].tolist() == [0.0, 0.0, 5.0]  # fill_value is for impute constant only (and keyed so)


def test_a_fill_value_that_is_not_a_number_stops_the_run():
    from gridflow.spec.check import validate_config

    config = {"preprocessing": {"fill_value": float("nan")}, "grid": {"hidden_units": [4]}}
    with pytest.raises(ConfigError, match="'preprocessing.fill_value' has value nan; allowed: a finite number"):
        validate_config(config, ROOT / "workflow/schemas/config.schema.yaml", [])


def test_captions_say_how_the_features_were_made():
    from gridflow.spec.caption import describe_settings
    from gridflow.spec.check import validate_config

    config = {"preprocessing": {"transformer": "myprep:prep"}, "grid": {"strategy": ["mean"]}}
    validate_config(config, ROOT / "workflow/schemas/config.schema.yaml", [str(ROOT / "tests/data")])
    assert "features made by myprep:prep; model mlp" in describe_settings(config)
    config = {"grid": {"scaler": ["standard", "minmax"]}}
    validate_config(config, ROOT / "workflow/schemas/config.schema.yaml", [])
    assert "the scaling of its own; model mlp" in describe_settings(config)
