"""Importance (exact ANOVA over the grid) and ties with the best (corrected t-test) on synthetic summary tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gridflow.analysis import importance as importance_module
from gridflow.analysis.importance import IMPORTANCE_COLUMNS, importance
from gridflow.analysis.subgrid import complete_subgrid
from gridflow.analysis.ties import compare_with_best
from gridflow.results.grammar import split_columns

GRID = {"depth": [1, 2, 3], "activation": ["relu", "tanh"], "learning_rate": [0.001, 0.01, 0.1, 1.0]}
K = 15  # 5 repetitions x 3 folds
N_TRAIN, N_TEST = 200, 100  # 3 folds of 300 samples


def make_table(grid, effect, *, k=K, noise=0.01, seed=0, status=None, metric="accuracy", lower_is_better=False):
    """A summary table: one row per cell of the full factorial, split scores = effect(positions) + noise.

    ``effect`` takes the value positions of a cell (a tuple of ints, in grid order); ``status`` maps such a tuple
    to "diverged", "failed" or None (row missing). Ranks follow ``mean_test_<metric>`` among ok cells.
    """
    rng = np.random.default_rng(seed)
    status = status or {}
    axes = list(grid)
    rows = []
    for positions in itertools.product(*(range(len(grid[a])) for a in axes)):
        scores = effect(positions) + noise * rng.standard_normal(k)
        state = status.get(positions, "ok")
        if state is None:
            continue
        if state != "ok":
            scores = np.full(k, np.nan)
        row = {"cell": "-".join(map(str, positions)), "status": state}
        row.update({f"param_{a}": grid[a][p] for a, p in zip(axes, positions)})
        row.update({f"split{i}_test_{metric}": s for i, s in enumerate(scores)})
        rows.append(row)
    table = pd.DataFrame(rows)
    mean = table[[f"split{i}_test_{metric}" for i in range(k)]].mean(axis=1)
    table[f"mean_test_{metric}"] = mean
    score = (-mean if lower_is_better else mean).where(table["status"] == "ok", -np.inf)
    table[f"rank_test_{metric}"] = score.rank(method="min", ascending=False).astype(int)
    return table


def shares(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["term"], frame["share"]))


def by_term(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("term")


# ---------------------------------------------------------------------------------------------------------------------
# Importance


def test_strong_axis_takes_most_share_and_an_axis_without_effect_stays_within_noise():
    # depth matters a lot, learning_rate a little, activation not at all.
    table = make_table(GRID, lambda p: 0.6 + 0.1 * p[0] + 0.01 * p[2], noise=0.02)
    result = by_term(importance(table, GRID, "accuracy"))
    assert result.loc["depth", "share"] > 0.9
    assert result.loc["activation", "share"] < 0.02
    # Within noise: the interval reaches down to what split noise alone gives a term with 1 df.
    assert result.loc["activation", "share_low"] <= result.loc["activation", "noise_share"]
    # The small real effect stands out against its noise share; the strong one dwarfs it.
    assert result.loc["learning_rate", "share"] > 5 * result.loc["learning_rate", "noise_share"]
    assert result.loc["depth", "share_low"] > 0.8


def test_pure_interaction_shows_only_in_its_pair():
    # XOR-like pattern on depth x activation: every row and column of it sums to 0, so no marginal effect.
    pattern = np.array([[1, -1], [-1, 1], [0, 0]])
    table = make_table(GRID, lambda p: 0.5 + 0.1 * pattern[p[0], p[1]])
    result = by_term(importance(table, GRID, "accuracy"))
    assert result.loc["depth:activation", "share"] > 0.98
    assert result.loc["depth:activation", "kind"] == "interaction"
    assert result.loc["depth", "share"] < 0.01
    assert result.loc["activation", "share"] < 0.01
    assert result.loc["residual", "share"] < 0.01


def test_noiseless_additive_grid_reproduces_the_known_shares_exactly():
    a, b, c = np.array([0.0, 0.3, 0.6]), np.array([0.0, 0.2]), np.array([0.0, 0.1, 0.1, 0.4])
    # A three-way term orthogonal to everything below it: centred contrasts multiplied together.
    x, y, z = np.array([1.0, 0.0, -1.0]), np.array([1.0, -1.0]), np.array([1.0, -1.0, 1.0, -1.0])
    s = 0.05
    table = make_table(GRID, lambda p: a[p[0]] + b[p[1]] + c[p[2]] + s * x[p[0]] * y[p[1]] * z[p[2]], noise=0.0)
    result = importance(table, GRID, "accuracy")

    # Balanced ANOVA by hand: SS of a main effect = N x (population variance of its levels); the three-way
    # term's SS is the sum of its squares over the cells.
    n = 24
    ss = {"depth": n * a.var(), "activation": n * b.var(), "learning_rate": n * c.var()}
    ss["residual"] = s**2 * (x**2).sum() * (y**2).sum() * (z**2).sum()
    total = sum(ss.values())
    got = shares(result)
    for term, value in ss.items():
        assert got[term] == pytest.approx(value / total, abs=1e-12)
    for pair in ("depth:activation", "depth:learning_rate", "activation:learning_rate"):
        assert got[pair] == pytest.approx(0.0, abs=1e-12)
    assert result["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert result["term"].iloc[-1] == "residual"
    assert list(result["share"].iloc[:-1]) == sorted(result["share"].iloc[:-1], reverse=True)
    # Identical splits: no noise, and every resample gives the same shares.
    assert np.allclose(result["noise_share"], 0.0)
    assert np.allclose(result["share_low"], result["share"]) and np.allclose(result["share_high"], result["share"])


def test_columns_degrees_of_freedom_and_attrs():
    result = importance(make_table(GRID, lambda p: 0.5 + 0.1 * p[0]), GRID, "accuracy", n_boot=50)
    assert list(result.columns) == IMPORTANCE_COLUMNS
    df = dict(zip(result["term"], result["df"]))
    assert df == {
        "depth": 2,
        "activation": 1,
        "learning_rate": 3,
        "depth:activation": 2,
        "depth:learning_rate": 6,
        "activation:learning_rate": 3,
        "residual": 6,
    }
    assert sum(df.values()) == 24 - 1
    assert result.attrs == {"left_out": {}, "constant_axes": [], "n_cells": 24, "n_splits": K, "n_folds": K}


def test_noise_share_is_degrees_of_freedom_times_the_variance_of_a_cell_mean():
    table = make_table(GRID, lambda p: 0.5 + 0.05 * p[2], noise=0.05, seed=3)
    result = by_term(importance(table, GRID, "accuracy", n_boot=20))
    splits = table[split_columns(table, "accuracy")].to_numpy()
    cell_means = splits.mean(axis=1)
    # With independent noise per split, the cell x fold residual estimates the same variance as each cell's spread.
    expected = 2 * splits.var(axis=1, ddof=1).mean() / K / ((cell_means - cell_means.mean()) ** 2).sum()
    assert result.loc["depth", "noise_share"] == pytest.approx(expected, rel=0.15)


def test_a_fold_hard_for_every_cell_moves_neither_shares_nor_noise():
    """A fold effect shared by all cells shifts every cell mean alike: it is not noise between cells."""
    table = make_table(GRID, lambda p: 0.5 + 0.05 * p[2], noise=0.01, seed=3)
    shifted = table.copy()
    columns = split_columns(table, "accuracy")
    shifted[columns] = table[columns] + 0.05 * np.random.default_rng(1).standard_normal(K)  # one offset per fold
    plain = by_term(importance(table, GRID, "accuracy", n_boot=20))
    hard = by_term(importance(shifted, GRID, "accuracy", n_boot=20))
    pd.testing.assert_series_equal(hard["share"], plain["share"], rtol=1e-9)
    pd.testing.assert_series_equal(hard["noise_share"], plain["noise_share"], rtol=1e-9)
    assert hard["noise_share"].sum() < 0.05


def test_repetitions_of_the_same_folds_are_not_more_folds():
    """Repeating each fold's score R times (same folds, only seeds differ) must not make a cell less tied."""
    rng = np.random.default_rng(4)
    folds = 5
    best = 0.9 + 0.01 * rng.standard_normal(folds)
    other = best - 0.01 + 0.01 * rng.standard_normal(folds)
    once = compare(two_cells(best, other), folds=folds).loc[1, "p_vs_best"]
    thrice = compare(two_cells(np.tile(best, 3), np.tile(other, 3)), folds=folds).loc[1, "p_vs_best"]
    assert thrice == pytest.approx(once)
    as_if_new_folds = compare(two_cells(np.tile(best, 3), np.tile(other, 3))).loc[1, "p_vs_best"]
    assert as_if_new_folds < once  # what counting repetitions as folds would have claimed
    table = make_table(GRID, lambda p: 0.5 + 0.05 * p[2], noise=0.02, k=folds, seed=5)
    tripled = table.copy()
    for r in (1, 2):
        for f in range(folds):
            tripled[f"split{r * folds + f}_test_accuracy"] = table[f"split{f}_test_accuracy"]
    pd.testing.assert_frame_equal(
        importance(tripled, GRID, "accuracy", folds=folds, n_boot=50), importance(table, GRID, "accuracy", n_boot=50)
    )


def test_bootstrap_is_reproducible_with_its_seed():
    table = make_table(GRID, lambda p: 0.5 + 0.02 * p[0] + 0.02 * p[2], noise=0.05)
    first = importance(table, GRID, "accuracy", n_boot=200, seed=1)
    again = importance(table, GRID, "accuracy", n_boot=200, seed=1)
    other = importance(table, GRID, "accuracy", n_boot=200, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["share_low"], other["share_low"])
    assert (first["share_low"] <= first["share_high"]).all()


def test_bootstrap_in_chunks_of_resamples_gives_what_all_at_once_gives(monkeypatch):
    """A huge grid's resamples are taken a few at a time, to bound memory: the intervals must not change."""
    table = make_table(GRID, lambda p: 0.5 + 0.02 * p[0] + 0.02 * p[2], noise=0.05)
    at_once = importance(table, GRID, "accuracy", n_boot=200, seed=1)
    monkeypatch.setattr(importance_module, "BOOTSTRAP_NUMBERS", 50)  # a resample or two a chunk
    pd.testing.assert_frame_equal(importance(table, GRID, "accuracy", n_boot=200, seed=1), at_once)


def test_one_split_gives_shares_without_intervals_or_noise():
    result = importance(make_table(GRID, lambda p: 0.5 + 0.1 * p[0], k=1), GRID, "accuracy")
    assert result["share"].notna().all()
    assert result[["share_low", "share_high", "noise_share"]].isna().all().all()


def test_diverged_cell_leaves_out_one_value_and_the_rest_is_decomposed():
    # The cell (depth 1, relu, lr 0.001) diverged. Removing a value of learning_rate removes 6 cells for the
    # 1 bad one, fewer than a value of depth (8) or activation (12): that value goes.
    table = make_table(GRID, lambda p: 0.6 + 0.1 * p[0], status={(0, 0, 0): "diverged"})
    result = importance(table, GRID, "accuracy", n_boot=50)
    assert result.attrs["left_out"] == {"learning_rate": [0.001]}
    assert result.attrs["n_cells"] == 18
    assert result.attrs["constant_axes"] == []
    assert by_term(result).loc["learning_rate", "df"] == 2
    assert by_term(result).loc["depth", "share"] > 0.9
    assert result["share"].sum() == pytest.approx(1.0)


def test_missing_row_counts_like_a_failed_cell():
    missing = make_table(GRID, lambda p: 0.6 + 0.1 * p[0], status={(2, 1, 3): None})
    failed = make_table(GRID, lambda p: 0.6 + 0.1 * p[0], status={(2, 1, 3): "failed"})
    assert len(missing) == 23
    left = importance(missing, GRID, "accuracy", n_boot=20)
    assert left.attrs["left_out"] == {"learning_rate": [1.0]}
    pd.testing.assert_frame_equal(left, importance(failed, GRID, "accuracy", n_boot=20))


def test_axis_left_with_one_value_drops_out_of_the_terms():
    grid = {"depth": [1, 2], "activation": ["relu", "tanh", "elu"]}
    # Every depth-1 cell failed: only removing depth 1 clears them, and depth is then constant.
    table = make_table(grid, lambda p: 0.5 + 0.1 * p[1], status={(0, j): "failed" for j in range(3)})
    result = importance(table, grid, "accuracy", n_boot=20)
    assert result.attrs["left_out"] == {"depth": [1]}
    assert result.attrs["constant_axes"] == ["depth"]
    assert list(result["term"]) == ["activation"]
    assert result["share"].iloc[0] == pytest.approx(1.0)


def test_single_value_axis_in_the_grid_is_left_out_of_the_terms():
    grid = {"depth": [1, 2, 3], "activation": ["relu"], "learning_rate": [0.01, 0.1]}
    result = importance(make_table(grid, lambda p: 0.5 + 0.1 * p[0] + 0.05 * p[2]), grid, "accuracy", n_boot=20)
    assert set(result["term"]) == {"depth", "learning_rate", "depth:learning_rate"}  # 2 axes: no residual
    assert result.attrs["constant_axes"] == ["activation"]
    assert result.attrs["left_out"] == {}
    assert result["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("n_ok", [0, 1])
def test_fewer_than_two_ok_cells_give_an_empty_table(n_ok):
    grid = {"depth": [1, 2], "activation": ["relu", "tanh"]}
    bad = list(itertools.product(range(2), range(2)))[n_ok:]
    table = make_table(grid, lambda p: 0.5, status=dict.fromkeys(bad, "failed"))
    result = importance(table, grid, "accuracy")
    assert result.empty
    assert list(result.columns) == IMPORTANCE_COLUMNS
    assert result.attrs["n_cells"] == 0


def test_values_read_back_as_text_still_match_the_grid():
    table = make_table(GRID, lambda p: 0.5 + 0.1 * p[0], noise=0.0)
    as_text = table.assign(param_depth=table["param_depth"].astype(str))
    pd.testing.assert_frame_equal(importance(as_text, GRID, "accuracy"), importance(table, GRID, "accuracy"))


def test_greedy_completion_ties_keep_axes_varying_then_go_by_axis_name():
    # Two bad cells at (x0, y0) and (x0, y1): dropping x0 clears 2 of 4 cells, dropping y0 1 of 2; a tie. Keeping
    # x varying wins: y0 and then y1 go, and both axes keep 2 values.
    ok = np.ones((2, 4), dtype=bool)
    ok[0, 0] = ok[0, 1] = False
    assert complete_subgrid(ok) == [[0, 1], [2, 3]]
    # A true tie (both removals collapse an axis) goes to the axis whose name sorts first, not the grid order.
    grid = {"b": [1, 2], "a": ["u", "v"]}
    table = make_table(grid, lambda p: 0.5 + 0.1 * p[0], status={(1, 1): "failed"})
    assert importance(table, grid, "accuracy", n_boot=10).attrs["left_out"] == {"a": ["v"]}


def test_split_columns_are_in_numeric_order():
    table = pd.DataFrame(columns=["split10_test_f1", "split2_test_f1", "split1_test_f1", "split0_test_roc_auc"])
    assert split_columns(table, "f1") == ["split1_test_f1", "split2_test_f1", "split10_test_f1"]
    assert split_columns(table, "loss") == []  # every cell failed: nothing was scored


# ---------------------------------------------------------------------------------------------------------------------
# Tied with the best


def two_cells(best, other, *, metric="accuracy", lower_is_better=False, status="ok"):
    """A table of two cells with the given split scores; the first is ranked best."""
    best, other = np.asarray(best, dtype=float), np.asarray(other, dtype=float)
    rows = []
    for name, scores, state in (("best", best, "ok"), ("other", other, status)):
        row = {"cell": name, "status": state}
        row.update({f"split{i}_test_{metric}": s for i, s in enumerate(scores)})
        row[f"mean_test_{metric}"] = scores.mean()
        rows.append(row)
    table = pd.DataFrame(rows)
    table[f"rank_test_{metric}"] = [1, 2]
    return table


def compare(table, **kwargs):
    kwargs.setdefault("metric", "accuracy")
    return compare_with_best(table, n_train=N_TRAIN, n_test=N_TEST, **kwargs)


def test_corrected_ttest_matches_a_hand_computation():
    rng = np.random.default_rng(0)
    best = 0.8 + 0.02 * rng.standard_normal(K)
    other = best - 0.01 + 0.02 * rng.standard_normal(K)
    result = compare(two_cells(best, other))
    d = best - other
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / K + N_TEST / N_TRAIN))
    assert result.loc[1, "p_vs_best"] == pytest.approx(stats.t.sf(t, K - 1), rel=1e-12)
    assert result.loc[0, "p_vs_best"] == 1.0 and result.loc[0, "tied_with_best"]


def test_correction_makes_p_larger_than_the_plain_paired_ttest():
    rng = np.random.default_rng(1)
    best = 0.8 + 0.02 * rng.standard_normal(K)
    other = best - 0.007 + 0.01 * rng.standard_normal(K)
    p_corrected = compare(two_cells(best, other)).loc[1, "p_vs_best"]
    p_uncorrected = stats.ttest_rel(best, other, alternative="greater").pvalue
    assert p_uncorrected < 0.05 < p_corrected  # the plain test would call this moderate difference significant


def test_clearly_worse_cell_is_not_tied():
    rng = np.random.default_rng(2)
    best = 0.9 + 0.005 * rng.standard_normal(K)
    result = compare(two_cells(best, best - 0.2 + 0.005 * rng.standard_normal(K)))
    assert result.loc[1, "p_vs_best"] < 1e-6
    assert not result.loc[1, "tied_with_best"]


def test_identical_cell_is_tied_with_p_one():
    best = np.linspace(0.7, 0.9, K)
    result = compare(two_cells(best, best.copy()))
    assert result.loc[1, "p_vs_best"] == 1.0
    assert result.loc[1, "tied_with_best"]


def test_constant_positive_difference_gives_p_zero():
    best = np.linspace(0.5, 0.875, 4).repeat(4)[:K]  # dyadic values: best - 0.125 is exact, the variance exactly 0
    result = compare(two_cells(best, best - 0.125))
    assert result.loc[1, "p_vs_best"] == 0.0
    assert not result.loc[1, "tied_with_best"]


def test_lower_is_better_metric_compares_in_the_right_direction():
    rng = np.random.default_rng(3)
    best = 0.3 + 0.01 * rng.standard_normal(K)
    worse = best + 0.2 + 0.01 * rng.standard_normal(K)  # higher loss: worse
    table = two_cells(best, worse, metric="loss")
    right = compare(table, metric="loss", lower_is_better=True)
    wrong = compare(table, metric="loss", lower_is_better=False)
    assert right.loc[1, "p_vs_best"] < 1e-6 and not right.loc[1, "tied_with_best"]
    assert wrong.loc[1, "p_vs_best"] > 0.99  # read as higher-is-better, the other cell would look better


def test_cell_better_than_the_ranked_best_on_the_splits_is_tied():
    # scikit-learn's example takes |t|; keeping the sign means "better than the best" is never "worse".
    best = np.linspace(0.7, 0.8, K)
    result = compare(two_cells(best, best + 0.05 + np.linspace(0, 0.01, K)))
    assert result.loc[1, "p_vs_best"] > 0.5 and result.loc[1, "tied_with_best"]


def test_one_split_gives_no_p_except_for_the_best():
    result = compare(two_cells([0.8], [0.7]))
    assert result.loc[0, "p_vs_best"] == 1.0 and result.loc[0, "tied_with_best"]
    assert np.isnan(result.loc[1, "p_vs_best"]) and result.loc[1, "tied_with_best"] is pd.NA  # untestable


@pytest.mark.parametrize("status", ["diverged", "failed"])
def test_cells_not_ok_get_no_p_and_are_not_tied(status):
    result = compare(two_cells(np.full(K, 0.8), np.full(K, np.nan), status=status))
    assert np.isnan(result.loc[1, "p_vs_best"]) and result.loc[1, "tied_with_best"] is np.False_


def test_no_ok_cell_gives_all_nan_and_false():
    table = make_table(
        GRID, lambda p: 0.5, status=dict.fromkeys(itertools.product(range(3), range(2), range(4)), "failed")
    )
    result = compare(table)
    assert result["p_vs_best"].isna().all()
    assert not result["tied_with_best"].any()


def test_best_is_the_first_rank_one_ok_cell_and_the_index_is_kept():
    table = make_table(GRID, lambda p: 0.6 + 0.05 * p[0] + 0.01 * p[2], noise=0.01, status={(2, 1, 3): "diverged"})
    table.index = [f"row{i}" for i in range(len(table))]
    result = compare(table)
    assert result.index.equals(table.index)
    assert result.dtypes.to_dict() == {"p_vs_best": np.dtype(float), "tied_with_best": pd.BooleanDtype()}
    best = table.index[(table["rank_test_accuracy"] == 1) & (table["status"] == "ok")][0]
    assert result.loc[best, "p_vs_best"] == 1.0
    # Depth 1 (0.1 below the best's depth 3) is far out of reach; the diverged cell gets no p.
    assert not result.loc[table["param_depth"] == 1, "tied_with_best"].any()
    assert np.isnan(result.loc[table["status"] == "diverged", "p_vs_best"]).all()
    # Ties are exactly the cells with p >= alpha.
    assert (result["tied_with_best"] == (result["p_vs_best"] >= 0.05)).all()


def test_two_cells_ranked_one_the_first_in_table_order_is_the_best():
    table = two_cells(np.linspace(0.7, 0.8, K), np.linspace(0.7, 0.8, K)[::-1])
    table["rank_test_accuracy"] = [1, 1]
    result = compare(table)
    assert result.loc[0, "p_vs_best"] == 1.0
    assert result.loc[1, "p_vs_best"] == pytest.approx(stats.t.sf(0.0, K - 1))  # mean difference 0, not identical


def test_sample_sizes_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        compare_with_best(two_cells([0.8, 0.9], [0.7, 0.8]), "accuracy", n_train=0, n_test=10)
