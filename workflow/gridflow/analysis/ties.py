"""Which cells are as good as the best: Nadeau and Bengio's corrected repeated k-fold t-test on the shared folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow.analysis.folds import fold_means, usable_rows
from gridflow.results.grammar import OK, rank_column, split_columns


def corrected_ttest(differences: np.ndarray, *, n_train: int, n_test: int) -> float:
    """One-sided p-value of Nadeau and Bengio's corrected t-test that the differences are positive.

    Resampled splits share training data, so their scores are correlated and the plain paired t-test is too
    confident; Nadeau and Bengio inflate the variance of the mean from ``var/K`` to ``var x (1/K + n_test/n_train)``.
    Unlike scikit-learn's ``compute_corrected_ttest`` (which takes ``|t|``), the sign is kept: a cell that beats the
    best on the splits gets p > 0.5, not a small p.

    Edge cases: fewer than 2 differences gives NaN; zero variance gives 1.0 if the mean is <= 0 and 0.0 if it is > 0.
    """
    d = np.asarray(differences, dtype=float)
    k = d.size
    if k < 2:
        return float("nan")
    mean = float(d.mean())
    if np.ptp(d) == 0:  # constant: the test statistic is 0/0 or x/0, decide by the sign of the mean
        return 0.0 if mean > 0 else 1.0
    variance = float(np.var(d, ddof=1)) * (1.0 / k + n_test / n_train)
    from scipy import stats  # 0.5 s to import: only when a summary is written, not when Snakemake starts

    return float(stats.t.sf(mean / np.sqrt(variance), df=k - 1))


def _best_row(table: pd.DataFrame, metric: str, ok: np.ndarray) -> int | None:
    """Position of the best ok row: lowest rank (1 in a well-formed table), first in table order on a tie."""
    if not ok.any():
        return None
    ranks = table[rank_column(metric)].to_numpy(dtype=float)
    ranks = np.where(ok & np.isfinite(ranks), ranks, np.inf)
    if not np.isfinite(ranks).any():
        return None
    return int(np.argmin(ranks))  # argmin: the first of equal ranks


def compare_with_best(
    table: pd.DataFrame,
    metric: str,
    *,
    n_train: int,
    n_test: int,
    folds: int | None = None,
    alpha: float = 0.05,
    lower_is_better: bool = False,
) -> pd.DataFrame:
    """Which cells are statistically tied with the best one: Nadeau and Bengio's corrected repeated k-fold t-test.

    Assumes every cell was scored on the same K splits (the same folds of the same training part; repetitions
    differ only in model seeds), so the split scores of two cells pair up. Since repetitions reuse the folds,
    the independent resamples are the F folds: each fold's differences are averaged over its repetitions first
    (counting repeated folds as new ones would make p smaller for nothing). The F fold differences are still
    correlated (the folds' training sets overlap), which the Nadeau-Bengio correction for correlated resamples
    accounts for: ``var(d) x (1/F + n_test/n_train)`` instead of ``var(d)/F``, with ``d_f = best_f - cell_f``
    (sign flipped for lower-is-better metrics, so d > 0 means the best is better),
    ``t = mean(d) / sqrt(corrected var)``, ``df = F - 1`` and the one-sided ``p = P(T >= t)``, as in
    scikit-learn's example "Statistical comparison of models using grid search".

    Parameters
    ----------
    table : the summary table; the best cell is the ok cell with ``rank_test_<metric>`` 1 (first if several).
    metric : the metric whose ``split<k>_test_<metric>`` columns are compared.
    n_train, n_test : samples a fold's models trained on, and samples in a validation fold.
    folds : cross-validation folds (1 in holdout mode); the K split columns are repetitions x folds. None: K folds.
    alpha : a cell is tied with the best when its p-value is at least alpha.
    lower_is_better : True for metrics such as loss.

    Returns
    -------
    A frame indexed like ``table`` with ``p_vs_best`` (float) and ``tied_with_best`` (pandas' nullable boolean).
    The best cell: p 1.0, tied. Cells not ok, or ok but missing a split score: p NaN, not tied. Fewer than 2 folds
    (holdout mode): nothing to test, so the other ok cells get p NaN and tied <NA> (unknown, not False). No ok
    cell: all NaN and False.
    """
    if n_train <= 0 or n_test <= 0:
        raise ValueError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    columns = split_columns(table, metric)
    scores = table[columns].to_numpy(dtype=float)
    ok = (table["status"] == OK).to_numpy()
    p = np.full(len(table), np.nan)
    best = _best_row(table, metric, ok)
    if best is not None:
        sign = -1.0 if lower_is_better else 1.0
        differences = fold_means(sign * (scores[best] - scores), folds)
        usable = usable_rows(table, columns) if np.isfinite(scores[best]).all() else np.zeros(len(table), dtype=bool)
        for row in np.flatnonzero(usable):
            p[row] = corrected_ttest(differences[row], n_train=n_train, n_test=n_test)
        p[best] = 1.0
    tied = pd.array(np.nan_to_num(p, nan=-np.inf) >= alpha, dtype="boolean")
    if best is not None and differences.shape[-1] < 2:
        tied[usable] = pd.NA  # one fold: nothing to test a cell against the best with
        tied[best] = True
    return pd.DataFrame({"p_vs_best": p, "tied_with_best": tied}, index=table.index)
