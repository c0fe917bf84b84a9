import json

import numpy as np
import pandas as pd
import pytest

from gridflow.summary import best_cell, summarize, write_summary


def model(role, accuracy, loss=0.5, status="ok"):
    metrics = None if status != "ok" else {
        "accuracy": accuracy, "loss": loss, "roc_auc": 0.9, "f1": accuracy, "precision": accuracy, "recall": accuracy
    }  # fmt: skip
    return {"role": role, "status": status, "metrics": metrics}


def record(cell_values, cv, test, status="ok", extra_models=()):
    from gridflow.grid import cell_id

    models = [model("cv", a, loss=1 - a) for a in cv] + [model("test", a, loss=1 - a) for a in test]
    return {
        "cell": cell_id(cell_values),
        "params": cell_values,
        "status": status,
        "error": "ValueError: no" if status == "failed" else None,
        "n_params": 10,
        "timing": {"fit_seconds": 2.0 * len(models)},
        "models": models + list(extra_models),
    }


RECORDS = [
    record({"lr": 0.1, "units": 4}, cv=[0.8, 0.9], test=[0.85]),
    record({"lr": 0.1, "units": 8}, cv=[0.95, 0.95], test=[0.9]),
    record(
        {"lr": 1, "units": 4},
        cv=[0.99],
        test=[0.99],
        status="diverged",
        extra_models=[model("cv", 0, status="diverged")],
    ),
    record({"lr": 1, "units": 8}, cv=[], test=[], status="failed"),
    record({"lr": 0.5, "units": 4}, cv=[0.9, 0.8], test=[0.8]),
]


def test_columns_follow_cv_results_grammar():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    for column in ["cell", "param_lr", "param_units", "mean_cv_accuracy", "std_cv_accuracy", "mean_test_roc_auc",
                   "std_test_recall", "mean_fit_time", "n_params", "status", "rank"]:  # fmt: skip
        assert column in table.columns


def test_means_and_stds_over_cv_models():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    row = table.loc["lr~0.1/units~4"]
    assert row["mean_cv_accuracy"] == pytest.approx(0.85)
    assert row["std_cv_accuracy"] == pytest.approx(0.05)
    assert row["mean_test_accuracy"] == pytest.approx(0.85)
    assert row["mean_fit_time"] == pytest.approx(2.0)


def test_rank_by_cv_mean_with_ties_and_bad_cells_last():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    assert table["cell"].tolist()[:3] == ["lr~0.1/units~8", "lr~0.1/units~4", "lr~0.5/units~4"]
    assert table["rank"].tolist() == [1, 2, 2, 4, 4]
    assert set(table["status"].tolist()[3:]) == {"diverged", "failed"}


def test_loss_ranks_ascending():
    table = summarize(RECORDS, ["lr", "units"], "loss")
    assert table.iloc[0]["cell"] == "lr~0.1/units~8"


def test_order_of_records_does_not_matter():
    a = summarize(RECORDS, ["lr", "units"], "accuracy")
    b = summarize(RECORDS[::-1], ["lr", "units"], "accuracy")
    pd.testing.assert_frame_equal(a, b)


def test_best_is_the_top_ranked_ok_cell():
    table = summarize(RECORDS, ["lr", "units"], "accuracy")
    best = best_cell(table, "accuracy")
    assert best["cell"] == "lr~0.1/units~8" and best["params"] == {"lr": 0.1, "units": 8}
    assert best["cv"]["accuracy"]["mean"] == pytest.approx(0.95)
    assert best["test"]["accuracy"]["mean"] == pytest.approx(0.9)


def test_no_ok_cell_gives_null_best():
    table = summarize([RECORDS[3]], ["lr", "units"], "accuracy")
    assert best_cell(table, "accuracy")["cell"] is None


def test_failed_cell_lists_its_error_and_nan_scores():
    table = summarize(RECORDS, ["lr", "units"], "accuracy").set_index("cell")
    assert table.loc["lr~1/units~8", "error"] == "ValueError: no"
    assert np.isnan(table.loc["lr~1/units~8", "mean_cv_accuracy"])


def test_write_summary_files(tmp_path):
    paths = []
    for i, rec in enumerate(RECORDS):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(rec))
    write_summary(
        metric_paths=[str(p) for p in paths],
        axes=["lr", "units"],
        metric="accuracy",
        csv_path=tmp_path / "s.csv",
        best_path=tmp_path / "b.json",
        log_path=tmp_path / "l.log",
    )
    assert len(pd.read_csv(tmp_path / "s.csv")) == 5
    assert json.loads((tmp_path / "b.json").read_text())["cell"] == "lr~0.1/units~8"
