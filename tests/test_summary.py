import json

import numpy as np
import pandas as pd
import pytest
from records import cell_record, model_record, scored_cell, write_cell

from gridflow.analysis import scores as scores_module
from gridflow.analysis.summary import best_cell, summarize, write_summary
from gridflow.data.load import load_dataset
from gridflow.data.split import load_split, make_split, save_split
from gridflow.io import file_digest

N_FOLDS = 2


def model(role, accuracy, *, repetition=0, fold=0, loss=0.5, status="ok"):
    """A model and its scores (None when it diverged)."""
    scores = None if status != "ok" else {
        "accuracy": accuracy, "loss": loss, "roc_auc": 0.9, "f1": accuracy, "precision": accuracy, "recall": accuracy
    }  # fmt: skip
    return model_record(role, status=status, repetition=repetition, fold=fold, fit_seconds=2.0 + fold), scores


def record(cell_values, cv, test, status="ok", extra_models=()):
    """``cv`` lists scores in split order: split k is repetition k // N_FOLDS, fold k % N_FOLDS."""
    models = [model("cv", a, repetition=k // N_FOLDS, fold=k % N_FOLDS, loss=1 - a) for k, a in enumerate(cv)]
    models += [model("test", a, repetition=r, loss=1 - a) for r, a in enumerate(test)]
    models += list(extra_models)
    return scored_cell(
        cell_record(
            cell_values,
            [m for m, _ in models],
            status=status,
            error="ValueError: no" if status == "failed" else None,
            timing={"fit_seconds": 2.0 * len(models)},
        ),
        [s for _, s in models],
    )


RECORDS = [
    record({"lr": 0.1, "units": 4}, cv=[0.8, 0.9], test=[0.85]),
    record({"lr": 0.1, "units": 8}, cv=[0.95, 0.95], test=[0.9]),
    record(
        {"lr": 1, "units": 4},
        cv=[0.99],
        test=[0.99],
        status="diverged",
        extra_models=[model("cv", 0, fold=1, status="diverged")],
    ),
    record({"lr": 1, "units": 8}, cv=[], test=[], status="failed"),
    record({"lr": 0.5, "units": 4}, cv=[0.9, 0.8], test=[0.8]),
]


def test_columns_follow_cv_results_grammar():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    for metric in ("accuracy", "loss", "roc_auc", "f1", "precision", "recall"):
        for column in (f"split0_test_{metric}", f"split1_test_{metric}", f"mean_test_{metric}",
                       f"std_test_{metric}", f"rank_test_{metric}", f"mean_holdout_{metric}",
                       f"std_holdout_{metric}"):  # fmt: skip
            assert column in table.columns
    for column in ["cell", "params", "param_lr", "param_units", "mean_fit_time", "std_fit_time", "n_params", "status",
                   "error", "p_vs_best", "tied_with_best"]:  # fmt: skip
        assert column in table.columns
    assert "split2_test_accuracy" not in table.columns  # one repetition x two folds
    assert not [c for c in table.columns if "_cv_" in c] and "rank" not in table.columns  # the old grammar is gone


def test_split_columns_hold_each_fold_in_repetition_major_order():
    records = [record({"lr": 0.1, "units": 4}, cv=[0.1, 0.2, 0.3, 0.4], test=[0.5, 0.6])]
    row = summarize(records, ["lr", "units"], "accuracy").iloc[0]
    assert [row[f"split{k}_test_accuracy"] for k in range(4)] == [0.1, 0.2, 0.3, 0.4]
    assert row["mean_test_accuracy"] == pytest.approx(0.25)
    assert row["std_test_accuracy"] == pytest.approx(np.std([0.1, 0.2, 0.3, 0.4]))  # ddof 0, as scikit-learn
    assert row["mean_holdout_accuracy"] == pytest.approx(0.55)
    assert json.loads(row["params"]) == {"lr": 0.1, "units": 4}


def test_means_and_stds_over_cv_models_and_holdout_apart():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    row = table.loc["lr~0.1/units~4"]
    assert row["mean_test_accuracy"] == pytest.approx(0.85)
    assert row["std_test_accuracy"] == pytest.approx(0.05)
    assert row["mean_holdout_accuracy"] == pytest.approx(0.85)
    assert row["mean_fit_time"] == pytest.approx(2.5) and row["std_fit_time"] == pytest.approx(0.5)


def test_rank_by_cv_mean_with_ties_and_bad_cells_last():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    assert table["cell"].tolist()[:3] == ["lr~0.1/units~8", "lr~0.1/units~4", "lr~0.5/units~4"]
    assert table["rank_test_accuracy"].tolist() == [1, 2, 2, 4, 4]
    assert set(table["status"].tolist()[3:]) == {"diverged", "failed"}


def test_every_metric_has_its_own_rank_in_its_own_direction():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    assert table.loc["lr~0.1/units~8", "rank_test_loss"] == 1  # loss = 1 - accuracy: lowest is best
    assert (table["rank_test_roc_auc"].iloc[:3] == 1).all()  # equal roc_auc: a tie


def test_loss_ranks_ascending():
    table = summarize(RECORDS, ["lr", "units"], "loss")
    assert table.iloc[0]["cell"] == "lr~0.1/units~8"


def test_order_of_records_does_not_matter():
    a = summarize(RECORDS, ["lr", "units"], "accuracy")
    b = summarize(RECORDS[::-1], ["lr", "units"], "accuracy")
    pd.testing.assert_frame_equal(a, b)


def test_cells_are_compared_with_the_best_on_their_shared_splits():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    assert table.loc["lr~0.1/units~8", "p_vs_best"] == 1.0 and table.loc["lr~0.1/units~8", "tied_with_best"]
    # Two splits, differences 0.15 and 0.05: a real but noisy gap, tied at alpha 0.05 after the correction.
    assert 0.05 < table.loc["lr~0.1/units~4", "p_vs_best"] < 0.5
    assert table.loc["lr~0.1/units~4", "tied_with_best"]
    assert not table.loc["lr~1/units~8", "tied_with_best"] and np.isnan(table.loc["lr~1/units~8", "p_vs_best"])
    strict = summarize(RECORDS, ["lr", "units"], "accuracy", alpha=0.5).set_index("cell")
    assert not strict.loc["lr~0.1/units~4", "tied_with_best"]


def test_best_is_the_top_ranked_ok_cell():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    best = best_cell(table, "accuracy")
    assert best["cell"] == "lr~0.1/units~8" and best["params"] == {"lr": 0.1, "units": 8}
    assert best["cv"]["accuracy"]["mean"] == pytest.approx(0.95)
    assert best["holdout"]["accuracy"]["mean"] == pytest.approx(0.9)
    assert best["n_cells"] == 5 and best["n_tied"] == 3


def test_no_ok_cell_gives_null_best():
    table = summarize([RECORDS[3]], ["lr", "units"], "accuracy")
    assert best_cell(table, "accuracy")["cell"] is None


def test_failed_cell_lists_its_error_and_nan_scores():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    assert table.loc["lr~1/units~8", "error"] == "ValueError: no"
    assert np.isnan(table.loc["lr~1/units~8", "mean_test_accuracy"])


def write_files(tmp_path, records=RECORDS, processes=0):
    """The cells' files as training writes them (each model right on about its accuracy's share of its rows)."""
    split = tmp_path / "split.npz"
    save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=N_FOLDS, validation_size=0.2,
                          seed=0), split)  # fmt: skip
    paths = []
    for cell in records:
        accuracies = [s and s["accuracy"] for s in cell.scores]
        paths.append(write_cell(tmp_path, cell.record, split=load_split(split), split_digest=file_digest(split),
                                accuracies=accuracies))  # fmt: skip
    write_summary(
        metric_paths=[str(p) for p in paths],
        axes=["lr", "units"],
        metric="accuracy",
        alpha=0.05,
        split_path=str(split),
        csv_path=tmp_path / "s.csv",
        best_path=tmp_path / "b.json",
        log_path=tmp_path / "l.log",
        processes=processes,
    )
    return pd.read_csv(tmp_path / "s.csv"), json.loads((tmp_path / "b.json").read_text())


def test_write_summary_files_with_the_chance_baseline(tmp_path):
    table, best = write_files(tmp_path)
    assert len(table) == 5 and best["cell"] == "lr~0.1/units~8"
    baseline = best["baseline"]
    # The prior predictor: accuracy is the majority share of each held-out part, ROC AUC exactly 0.5.
    assert 0.6 < baseline["cv"]["accuracy"]["mean"] < 0.65 and baseline["cv"]["roc_auc"]["mean"] == 0.5
    assert 0.6 < baseline["holdout"]["accuracy"]["mean"] < 0.65 and baseline["holdout"]["recall"]["mean"] == 0.5
    assert baseline["cv"]["loss"]["mean"] == pytest.approx(0.66, abs=0.01)  # the entropy of a 63/37 split


def test_a_large_summary_scored_in_two_processes_equals_one_scored_in_this_one(tmp_path, monkeypatch):
    """A grid of PARALLEL_FROM cells or more is scored in a process a core: the same table, the same order."""
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    one = write_files(tmp_path / "one")
    monkeypatch.setattr(scores_module, "PARALLEL_FROM", 2)
    two = write_files(tmp_path / "two", processes=2)
    pd.testing.assert_frame_equal(one[0], two[0])
    assert one[1] == two[1]


def test_idioms_written_for_cv_results_work_on_the_csv(tmp_path):
    """What people do with pd.DataFrame(search.cv_results_), applied to summary.csv as read back."""
    results, _ = write_files(tmp_path)
    # The best candidate's params, as search.best_params_ would give them.
    best_params = json.loads(results.loc[results["rank_test_accuracy"] == 1, "params"].iloc[0])
    assert best_params == {"lr": 0.1, "units": 8}
    # scikit-learn's "Statistical comparison of models" example: per-split scores of the top candidates.
    names = results["params"].apply(lambda p: "_".join(str(v) for v in json.loads(p).values()))
    model_scores = results.set_index(names)
    model_scores = model_scores.filter(regex=r"split\d*_test_accuracy")
    assert model_scores.shape == (5, N_FOLDS)
    assert model_scores.loc["0.1_8"].tolist() == pytest.approx([0.95, 0.95], abs=0.005)  # right on 95 % of the rows
    # Sorting by rank and reading the mean and std the way the docs' examples print them.
    top = results.sort_values("rank_test_accuracy")[["params", "mean_test_accuracy", "std_test_accuracy"]].iloc[0]
    assert top["mean_test_accuracy"] == pytest.approx(0.95, abs=0.005) and top["std_test_accuracy"] < 0.005
    # param_<axis> columns filter like scikit-learn's masked arrays filled in.
    ok = results["status"] == "ok"
    assert results.loc[ok & (results["param_units"] == 4), "mean_test_accuracy"].max() == pytest.approx(0.85, abs=0.005)


def test_a_wide_summary_reads_back_without_library_warnings(tmp_path):
    """The default grid's summary has 138 columns; pandas reads each into a block of its own and then warned
    (PerformanceWarning, ten times per run) whenever a figure added a column."""
    import warnings

    from gridflow.results.grammar import read_summary, tied_cells

    folds = 150  # 6 metrics x 150 splits: far past the 100 blocks where pandas starts to warn
    cv = [0.9] * folds
    table = summarize([record({"lr": 0.1, "units": 4}, cv=cv, test=[0.9])], ["lr", "units"], "accuracy")
    table.to_csv(tmp_path / "s.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_summary(tmp_path / "s.csv").assign(tied=tied_cells)
