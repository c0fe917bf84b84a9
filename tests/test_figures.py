"""Figures and report tables from a synthetic summary with known values and broken cells."""

import json
import re
import struct

import numpy as np
import pandas as pd
import pytest
from records import HISTORY_KEYS, cell_record, model_record, scored_cell

from gridflow.analysis.baseline import baseline_scores
from gridflow.analysis.summary import best_cell, summarize
from gridflow.data.load import load_dataset
from gridflow.data.split import make_split, save_split
from gridflow.io import write_json
from gridflow.report.figures import style
from gridflow.report.figures.cost import plot_cost, timing_kind
from gridflow.report.figures.curves import mean_curve, plot_learning_curves, top_cells
from gridflow.report.figures.effects import axis_effect, plot_marginal_effect
from gridflow.report.figures.heatmaps import heatmap_marginal, heatmap_slice, plot_heatmap
from gridflow.report.figures.importance import plot_importance
from gridflow.report.tables import best_cell_html, summary_html
from gridflow.results.arrays import cell_arrays, write_arrays
from gridflow.results.record import arrays_path, write_record
from gridflow.spec.grid import cell_id, expand_grid

GRID = {"act": ["relu", "tanh"], "lr": [0.1, 1], "units": [4, 8]}
DIVERGED = "act~tanh/lr~1/units~8"
FAILED = "act~tanh/lr~1/units~4"


def cv_accuracy(values) -> float:
    """Known scores: units matter most, then lr, then act."""
    return 0.80 + 0.10 * (values["units"] == 8) + 0.04 * (values["lr"] == 1) + 0.01 * (values["act"] == "relu")


def model(role, accuracy, epochs=3, status="ok", fold=0):
    """A model, its scores (None when it diverged) and its per-epoch history."""
    scores = {"accuracy": accuracy, "loss": 1 - accuracy, "roc_auc": accuracy, "f1": accuracy,
              "precision": accuracy, "recall": accuracy}  # fmt: skip
    curve = [accuracy - 0.1 * (epochs - e) for e in range(epochs)]
    history = {"loss": [1 - a for a in curve], "accuracy": curve, "val_loss": [1.1 - a for a in curve],
               "val_accuracy": [a - 0.01 for a in curve]}  # fmt: skip
    record = model_record(role, status=status, fold=fold, n_train=100, n_eval=50, epochs_run=epochs)
    return record, scores if status == "ok" else None, history


def record(values):
    cell = cell_id(values)
    accuracy = cv_accuracy(values)
    models = [model("cv", accuracy - 0.01), model("cv", accuracy + 0.01, fold=1), model("test", accuracy)]
    status, error = "ok", None
    if cell == DIVERGED:
        models[1] = model("cv", 0.5, epochs=1, status="diverged", fold=1)
        status = "diverged"
    if cell == FAILED:
        models, status, error = [], "failed", "ValueError: no"
    compiled = values["lr"] == 0.1  # the first cell of each loop compiles it
    timing = {"fit_seconds": 2.0 if compiled else 0.2, "loop_source": "compiled" if compiled else "memory"}
    record = cell_record(values, [m for m, _, _ in models], status=status, error=error, n_params=10 * values["units"],
                         timing=timing)  # fmt: skip
    arrays = cell_arrays([np.zeros((50, 2))] * len(models), [h for _, _, h in models], history_keys=HISTORY_KEYS)
    return scored_cell(record, [s for _, s, _ in models]), arrays


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A summary.csv, best.json and the cells' files as the workflow writes them."""
    folder = tmp_path_factory.mktemp("figures")
    cells, paths = [], []
    for values in expand_grid(GRID):
        cell, arrays = record(values)
        path = folder / "cells" / cell_id(values) / "metrics.json"
        write_arrays(arrays, arrays_path(path))
        write_record(cell.record, path)
        cells.append(cell)
        paths.append(str(path))
    split = folder / "split.npz"
    save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=2, validation_size=0.2, seed=0),
               split)  # fmt: skip
    table = summarize(cells, sorted(GRID), "accuracy")
    table.to_csv(folder / "summary.csv", index=False)
    write_json(best_cell(table, "accuracy", baseline_scores(str(split))), folder / "best.json")
    return folder, paths


def table_of(run):
    return pd.read_csv(run[0] / "summary.csv")


def svg_text(path) -> str:
    """The text an SVG shows (fonts are kept as text, not paths)."""
    return " ".join(re.findall(r">([^<>]+)</text>", path.read_text()))


def draw(run, function, name="figure", **arguments):
    outputs = [str(run[0] / f"{name}.png"), str(run[0] / f"{name}.svg")]
    function(**arguments, outputs=outputs, log_path=str(run[0] / f"{name}.log"))
    png = (run[0] / f"{name}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert 300 <= width <= 2500 and 200 <= height <= 3000
    return svg_text(run[0] / f"{name}.svg")


def test_slice_holds_the_other_axes_and_hides_broken_cells(run):
    values, statuses, tied = heatmap_slice(
        table_of(run), grid=GRID, a="lr", b="units", fixed={"act": "tanh"}, metric="accuracy"
    )
    assert statuses.tolist() == [["ok", "ok"], ["failed", "diverged"]]
    assert values[0].tolist() == pytest.approx([0.80, 0.90])
    assert tied.tolist() == [[False, False], [False, False]]  # tanh cells are all worse than the best on both splits


def test_marginal_is_best_and_mean_over_the_other_axes_of_ok_cells(run):
    table = table_of(run)
    best, mean, n_not_ok, n_cells, n_tied = heatmap_marginal(table, grid=GRID, a="lr", b="units", metric="accuracy")
    assert n_cells.tolist() == [[2, 2], [2, 2]]
    assert n_not_ok.tolist() == [[0, 0], [1, 1]]
    np.testing.assert_allclose(best, [[0.81, 0.91], [0.85, 0.95]])
    np.testing.assert_allclose(mean, [[0.805, 0.905], [0.85, 0.95]])  # lr=1: relu only
    assert n_tied[1, 1] >= 1  # the best cell itself


def test_marginal_best_of_a_lower_is_better_metric_is_the_minimum(run):
    best, mean, _, _, _ = heatmap_marginal(table_of(run), grid=GRID, a="lr", b="units", metric="loss")
    np.testing.assert_allclose(best, 1 - np.array([[0.81, 0.91], [0.85, 0.95]]))
    np.testing.assert_allclose(mean, 1 - np.array([[0.805, 0.905], [0.85, 0.95]]))


def test_one_colour_scale_spans_every_ok_cell(run):
    assert style.colour_limits(table_of(run), "accuracy") == pytest.approx((0.80, 0.95))


def test_heatmaps_show_values_and_name_broken_cells(run):
    text = draw(run, plot_heatmap, summary_csv=run[0] / "summary.csv", best_json=run[0] / "best.json", grid=GRID,
                a="act", b="units", metric="accuracy", flavour="slice", name="slice")  # fmt: skip
    assert "others at the best cell: lr=1" in text  # the best cell is relu/lr 1/units 8
    assert "0.950" in text and "0.850" in text and "diverged" in text
    text = draw(run, plot_heatmap, summary_csv=run[0] / "summary.csv", best_json=run[0] / "best.json", grid=GRID,
                a="lr", b="units", metric="accuracy", flavour="marginal", name="marginal")  # fmt: skip
    assert "best over act" in text and "mean over act" in text
    assert text.count("1/2 not ok") == 4  # lr=1 squares, both panels
    assert "0.805" in text and "0.905" in text


def test_marginal_effect_per_value_of_an_axis(run):
    effects = axis_effect(table_of(run), GRID, "units", "accuracy")
    assert [e.value for e in effects] == ["4", "8"]
    assert sorted(effects[1].cell_means) == pytest.approx([0.90, 0.91, 0.95])
    assert effects[1].best_mean == pytest.approx(0.95) and effects[1].best_std == pytest.approx(0.01)
    assert [e.n_not_ok for e in effects] == [1, 1]
    text = draw(run, plot_marginal_effect, summary_csv=run[0] / "summary.csv", grid=GRID, axis="units",
                metric="accuracy", name="effect")  # fmt: skip
    assert "spread over act, lr" in text and "1 not ok" in text


def test_a_large_grid_draws_readable_heatmaps_and_effects_and_says_it_shows_colour_only(tmp_path):
    """10 axes, two of them with 50 values: a figure a screen wide, every k-th value named, no 2,500 numbers."""
    grid = {"a": [round(0.01 * i, 2) for i in range(50)], "b": list(range(50)), "c": [1, 2]}
    grid |= {f"axis{k}": [k] for k in range(7)}
    values = expand_grid(grid)
    score = np.array([0.5 + v["a"] * 0.5 + v["b"] * 0.002 + 0.01 * v["c"] for v in values])
    cells = [cell_id(v) for v in values]
    table = pd.DataFrame({"cell": cells, "mean_test_accuracy": score, "std_test_accuracy": 0.01, "status": "ok",
                          "tied_with_best": score == score.max(), "p_vs_best": 0.5})  # fmt: skip
    table.loc[3, "status"] = "diverged"
    table.to_csv(tmp_path / "summary.csv", index=False)
    write_json({"cell": cells[int(score.argmax())], "params": values[int(score.argmax())]}, tmp_path / "best.json")
    folder = (tmp_path, [])  # draw's run: the folder the figures go to
    best, mean, n_not_ok, n_cells, _ = heatmap_marginal(table, grid=grid, a="a", b="b", metric="accuracy")
    assert n_cells.shape == (50, 50) and (n_cells == 2).all() and n_not_ok.sum() == 1
    np.testing.assert_allclose(best[10, 20], 0.5 + 0.05 + 0.04 + 0.02)
    for flavour in ("slice", "marginal"):
        text = draw(folder, plot_heatmap, summary_csv=tmp_path / "summary.csv", best_json=tmp_path / "best.json",
                    grid=grid, a="a", b="b", metric="accuracy", flavour=flavour, name=flavour)  # fmt: skip
        assert "colour only: 50 × 50 values (numbers up to 15 a side)" in text
        # Every 4th value of a named (0, 0.04, ..., 0.48), and no square's number such as 0.612.
        assert {"0.04", "0.08", "0.48"} <= set(text.split()) and "0.01" not in text.split()
        assert not re.search(r"\b0\.\d{3}\b", text)
    text = draw(folder, plot_marginal_effect, summary_csv=tmp_path / "summary.csv", grid=grid, axis="b",
                metric="accuracy", name="effect")  # fmt: skip
    assert "spread over a, c, axis0" in text and "1 not ok" in text
    assert {"0", "4", "48"} <= set(text.split()) and "2" not in text.split()  # every 4th of 50 values named


def test_learning_curves_average_cv_models_only_and_keep_stopped_ones_short():
    models = [model("cv", 0.9), model("cv", 0.7), model("test", 0.1), model("cv", 0.5, epochs=1, status="diverged")]
    record = cell_record({"units": 8}, [m for m, _, _ in models])
    arrays = cell_arrays([np.zeros((50, 2))] * 4, [h for _, _, h in models], history_keys=HISTORY_KEYS)
    mean, std = mean_curve(record, arrays, "accuracy")
    assert mean.tolist() == pytest.approx([(0.6 + 0.4 + 0.4) / 3, 0.6, 0.7])  # curves end at 0.8, 0.6 and 0.4
    assert std[1] == pytest.approx(0.1)


def test_learning_curves_of_the_top_ok_cells(run):
    table = table_of(run)
    assert top_cells(table, 2) == ["act~relu/lr~1/units~8", "act~relu/lr~0.1/units~8"]
    text = draw(run, plot_learning_curves, summary_csv=run[0] / "summary.csv", cells_dir=run[0] / "cells",
                top=2, metric="accuracy", name="curves")  # fmt: skip
    assert "#1  act=relu, lr=1, units=8" in text and "#2  act=relu, lr=0.1, units=8" in text
    assert "mean CV accuracy 0.950 ± 0.010" in text and "held-out fold" in text


def test_cost_marks_how_each_time_was_measured(run):
    table = table_of(run)
    kinds = table.set_index("cell").apply(timing_kind, axis=1)
    assert kinds["act~relu/lr~0.1/units~4"] == "compiled" and kinds["act~relu/lr~1/units~4"] == "memory"
    text = draw(run, plot_cost, summary_csv=run[0] / "summary.csv", metric="accuracy", name="cost")
    assert "cost of 6 cell(s); 2 diverged, failed or missing not shown" in text
    assert "fused loop incl. building it" in text and "fused loop, built earlier" in text


def test_summary_page_lists_every_cell_with_broken_ones_marked(run):
    page = summary_html(table_of(run), "accuracy")
    assert page.count('<tr class="ok">') == 6 and page.count('<tr class="not-ok">') == 2
    assert "0.950 ± 0.010" in page and "ValueError: no" in page
    assert page.index("cv accuracy") < page.index("cv roc_auc")  # the selection metric first
    # Every other cell is worse than the best on both splits by the same margin: none is tied.
    assert "no other cell is tied with the best" in page


def test_best_cell_page_has_values_scores_and_settings(run):
    best = json.loads((run[0] / "best.json").read_text())
    page = best_cell_html(best, {"training": {"epochs": 3}, "grid": GRID})
    assert "act~relu/lr~1/units~8" in page and "0.950 ± 0.010" in page
    assert "epochs: 3" in page and "units: [4, 8]" in page
    baseline = best["baseline"]["cv"]["accuracy"]["mean"]
    assert 0.6 < baseline < 0.65  # breast_cancer's benign share
    assert "baseline CV" in page and f"{baseline:.3f} ±" in page and "most frequent class" in page
    empty = best_cell_html({**best, "cell": None}, {"grid": GRID})
    assert "No cell trained without diverging or failing" in empty


def test_importance_figure_names_its_terms_and_what_was_left_out(tmp_path):
    csv = tmp_path / "importance.csv"
    pd.DataFrame(
        {"term": ["lr", "units", "lr:units"], "kind": ["main", "main", "interaction"], "df": [1, 1, 1],
         "share": [0.7, 0.2, 0.1], "share_low": [0.6, 0.1, 0.0], "share_high": [0.8, 0.3, 0.2],
         "noise_share": [0.01] * 3, "n_cells": 4, "n_splits": 6, "n_folds": 3, "left_out": '{"act": ["tanh"]}'}
    ).to_csv(csv, index=False)  # fmt: skip
    text = draw((tmp_path,), plot_importance, importance_csv=str(csv), metric="accuracy", name="importance")
    labels = re.findall(r">([^<>]+)</text>", (tmp_path / "importance.svg").read_text())
    assert {"lr", "units", "lr:units", "fold noise alone"} <= set(labels)
    assert "4 cells, intervals over the 3 folds" in text and "left out to complete the grid: act tanh" in text
