import numpy as np
import pandas as pd
import pytest

from gridflow.data.feasible import check_split_feasible
from gridflow.data.load import Dataset, load_dataset
from gridflow.data.scale import fit_scaler
from gridflow.data.split import NEVER_VALIDATED, load_split, make_split, save_split
from gridflow.errors import ConfigError


@pytest.fixture(scope="module")
def cancer():
    return load_dataset("breast_cancer", None)


def test_builtin_breast_cancer(cancer):
    assert cancer.features.shape == (569, 30)
    assert np.bincount(cancer.labels).tolist() == [212, 357]
    assert cancer.class_names == ["malignant", "benign"]


def test_split_is_stratified_seeded_and_folds_cover_training(cancer):
    split = make_split(cancer, test_size=0.2, cv_folds=5, validation_size=0.2, seed=7)
    assert len(split.y_test) == 114 and len(split.y_train) == 455
    assert abs(split.y_test.mean() - cancer.labels.mean()) < 0.01
    assert sorted(np.unique(split.folds)) == [0, 1, 2, 3, 4]
    sizes = np.bincount(split.folds)
    assert sizes.max() - sizes.min() <= 1
    again = make_split(cancer, test_size=0.2, cv_folds=5, validation_size=0.2, seed=7)
    np.testing.assert_array_equal(split.x_train, again.x_train)
    np.testing.assert_array_equal(split.folds, again.folds)


def test_holdout_mode_marks_one_validation_part(cancer):
    split = make_split(cancer, test_size=0.2, cv_folds=0, validation_size=0.25, seed=1)
    assert split.n_folds == 1
    assert (split.folds == 0).sum() == 114
    assert (split.folds == NEVER_VALIDATED).sum() == 455 - 114


def test_split_round_trips_through_npz(cancer, tmp_path):
    split = make_split(cancer, test_size=0.2, cv_folds=3, validation_size=0.2, seed=0)
    save_split(split, tmp_path / "split.npz")
    back = load_split(tmp_path / "split.npz")
    np.testing.assert_array_equal(back.x_test, split.x_test)
    assert back.class_names == split.class_names and back.n_folds == 3
    assert [p.name for p in tmp_path.iterdir()] == ["split.npz"]  # no temporary file left


@pytest.mark.parametrize("name", ["standard", "minmax", "none"])
def test_scalers_are_fitted_on_given_rows_only(name):
    train = np.array([[0.0, 10.0], [2.0, 30.0]])
    other = np.array([[100.0, 100.0]])
    scale = fit_scaler(name, train)
    scaled = scale(train)
    if name == "standard":
        np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(scaled.std(axis=0), 1, atol=1e-6)
    elif name == "minmax":
        np.testing.assert_allclose(scaled, [[0, 0], [1, 1]])
    assert scale(other)[0, 0] == pytest.approx({"standard": 99.0, "minmax": 50.0, "none": 100.0}[name])


def write_csv(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_csv_with_any_number_of_classes(tmp_path):
    frame = pd.DataFrame({"a": range(30), "b": np.arange(30) * 0.5, "kind": ["x", "y", "z"] * 10})
    data = load_dataset(write_csv(tmp_path, frame), "kind")
    assert data.class_names == ["x", "y", "z"] and data.features.shape == (30, 2)
    assert data.labels[:3].tolist() == [0, 1, 2]


def test_parquet_file(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}).to_parquet(path)
    assert load_dataset(str(path), "y").features.shape == (4, 1)


@pytest.mark.parametrize(
    ("frame", "target", "expected"),
    [
        (pd.DataFrame({"a": [1, 2], "y": [0, 1]}), "label", "dataset.target"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0, None, 1]}), "y", "label column 'y' has 1 missing value"),
        (pd.DataFrame({"a": [1.0, 2.0], "e": [None, None], "y": [0, 1]}), "y", "feature column 'e' has no values"),
        (pd.DataFrame({"y": [0, 1]}), "y", "no feature column besides the label"),
        (pd.DataFrame({"a": [1.0, 2.0], "y": [1, 1]}), "y", "single class"),
    ],
)
def test_bad_tables_give_one_line_errors(tmp_path, frame, target, expected):
    with pytest.raises(ConfigError, match=expected) as caught:
        load_dataset(write_csv(tmp_path, frame), target)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_dataset(str(tmp_path / "absent.csv"), "y")


def test_too_few_rows_for_the_folds():
    tiny = Dataset(np.zeros((12, 2), np.float32), np.array([0] * 9 + [1] * 3, np.int32), ["a", "b"], ["n", "p"])
    with pytest.raises(ConfigError, match="class 'p' has only 2 training samples"):
        check_split_feasible(tiny, test_size=0.2, cv_folds=3, validation_size=0.2)
    check_split_feasible(tiny, test_size=0.2, cv_folds=2, validation_size=0.2)


def test_holdout_part_too_small_for_every_class(cancer):
    with pytest.raises(ConfigError, match="split.validation_size' has value 0.001"):
        check_split_feasible(cancer, test_size=0.2, cv_folds=0, validation_size=0.001)
    check_split_feasible(cancer, test_size=0.2, cv_folds=0, validation_size=0.2)


def regression_split(labels, *, cv_folds=3, test_size=0.2):
    x = np.random.default_rng(0).normal(size=(len(labels), 3)).astype(np.float32)
    dataset = Dataset(x, np.asarray(labels, dtype=np.float64), ["a", "b", "c"], [], "regression")
    return make_split(dataset, test_size=test_size, cv_folds=cv_folds, validation_size=0.2, seed=1)


def test_regression_split_covers_the_labels_range_in_every_fold():
    labels = np.random.default_rng(2).lognormal(size=300)  # skewed: a plain shuffle can miss its tail
    split = regression_split(labels, cv_folds=5)
    assert split.task == "regression" and split.class_names == [] and split.y_train.dtype == np.float64
    deciles = np.quantile(labels, np.linspace(0, 1, 11))
    for fold in range(5):
        bins = np.searchsorted(deciles[1:-1], split.y_train[split.folds == fold], side="right")
        assert set(bins) == set(range(10))  # every fold has samples from every decile of the label
    assert set(np.searchsorted(deciles[1:-1], split.y_test, side="right")) == set(range(10))


AWKWARD_LABELS = {
    "counts": np.random.default_rng(3).geometric(0.5, size=46).astype(float),  # many repeated values
    "mostly-zero": np.where(np.random.default_rng(4).random(60) < 0.8, 0.0, np.random.default_rng(5).normal(size=60)),
    "tiny": np.random.default_rng(6).normal(size=13),  # too small to bin: a plain shuffled split
}


@pytest.mark.parametrize(
    ("name", "cv_folds"),
    [(name, folds) for name in AWKWARD_LABELS for folds in (0, 2, 5) if not (name == "tiny" and folds == 5)],
)
def test_regression_split_of_awkward_labels_never_fails(name, cv_folds):
    labels = AWKWARD_LABELS[name]
    split = regression_split(labels, cv_folds=cv_folds)
    assert len(split.y_train) + len(split.y_test) == len(labels)
    assert split.n_folds == max(cv_folds, 1) and (np.bincount(split.folds[split.folds >= 0]) >= 2).all()


def test_a_label_of_the_wrong_kind_for_the_task_is_one_line(tmp_path):
    from sklearn.datasets import load_diabetes

    with pytest.raises(ConfigError, match="'dataset.task' has value regression; built-in data set breast_cancer"):
        load_dataset("breast_cancer", None, "regression")
    table = load_diabetes(as_frame=True).frame
    table.to_csv(tmp_path / "diabetes.csv", index=False)
    with pytest.raises(
        ConfigError, match=r"looks continuous \(214 distinct numbers\); allowed: dataset.task: regression"
    ):
        load_dataset(str(tmp_path / "diabetes.csv"), "target", "classification")
    assert load_dataset(str(tmp_path / "diabetes.csv"), "target", "regression").labels.dtype == np.float64
