"""What the grid says beyond its ranking: which axes matter, and which cells are as good as the best.

Pure NumPy/pandas/SciPy functions of the summary table (scikit-learn's ``cv_results_`` grammar: ``status``,
``param_<axis>``, ``split<k>_test_<metric>``, ``mean_test_<metric>``, ``rank_test_<metric>``).

- :func:`importance`: an exact ANOVA decomposition of the cell scores into main effects and two-way interactions,
  with bootstrap intervals over the splits and the share split noise alone would give each term.
- :func:`compare_with_best`: Nadeau and Bengio's corrected repeated k-fold t-test of every cell against the best.
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from gridflow.io import atomic_path
from gridflow.logs import job_log

OK = "ok"
IMPORTANCE_COLUMNS = ["term", "kind", "df", "share", "share_low", "share_high", "noise_share"]
RESIDUAL = "residual"


# ---------------------------------------------------------------------------------------------------------------------
# Reading the table


def split_columns(table: pd.DataFrame, metric: str) -> list[str]:
    """The ``split<k>_test_<metric>`` columns of ``table``, in order of k (numerically: split10 after split9).

    None when no cell trained a model (every cell failed).
    """
    pattern = re.compile(rf"^split(\d+)_test_{re.escape(metric)}$")
    found = [(int(m.group(1)), c) for c in table.columns if (m := pattern.match(str(c)))]
    return [c for _, c in sorted(found)]


def fold_means(scores: np.ndarray, folds: int | None) -> np.ndarray:
    """Split scores ``[..., K]`` (k = repetition x folds + fold) averaged over the repetitions: ``[..., folds]``.

    Repetitions reuse the same folds (only the models' seeds differ), so the folds, not the K splits, are the
    independent resamples: more repetitions make a fold's score more precise, not the folds more numerous.
    ``folds`` None: every split is a fold of its own (one repetition).
    """
    k = scores.shape[-1]
    folds = k if folds is None else folds
    if folds < 1 or k % folds:
        raise ValueError(f"{k} split columns are not repetitions x {folds} folds")
    return scores.reshape(*scores.shape[:-1], k // folds, folds).mean(axis=-2)


def _usable(table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows that are ok and scored on every split: an ok row with a missing split cannot share the splits."""
    scores = table[list(columns)].to_numpy(dtype=float)
    return (table["status"] == OK).to_numpy() & np.isfinite(scores).all(axis=1)


def _value_index(values: pd.Series, options: Sequence) -> np.ndarray:
    """Position of every value among ``options`` (-1 if absent).

    Exact match first, then by text: a table read back from CSV may hold ``"relu"`` or ``0.5`` where the config
    holds the same value, but also ``"True"`` where the config holds ``True``.
    """
    exact: dict[Hashable, int] = {}
    text: dict[str, int] = {}
    for i, option in enumerate(options):
        exact.setdefault(option, i)
        text.setdefault(str(option), i)

    def position(value) -> int:
        try:
            if value in exact:
                return exact[value]
        except TypeError:  # unhashable: fall through to the text
            pass
        return text.get(str(value), -1)

    return np.array([position(v) for v in values], dtype=int)


def _cube(table: pd.DataFrame, grid: Mapping[str, Sequence], columns: Sequence[str]) -> np.ndarray:
    """Split scores on the full factorial: shape ``(n_axis_1, ..., n_axis_d, K)``, NaN where a cell is not usable.

    Rows whose values are not in the grid (an older config) are ignored; two rows for one cell are an error.
    """
    axes = list(grid)
    shape = tuple(len(grid[a]) for a in axes)
    cube = np.full((*shape, len(columns)), np.nan)
    if table.empty:
        return cube
    positions = np.column_stack([_value_index(table[f"param_{a}"], grid[a]) for a in axes])
    keep = _usable(table, columns) & (positions >= 0).all(axis=1)
    where = [tuple(p) for p in positions[keep]]
    if len(set(where)) != len(where):
        raise ValueError("several rows of the table are the same grid cell")
    scores = table[list(columns)].to_numpy(dtype=float)[keep]
    for point, row in zip(where, scores):
        cube[point] = row
    return cube


# ---------------------------------------------------------------------------------------------------------------------
# Making the grid complete


def complete_subgrid(ok: np.ndarray) -> list[list[int]]:
    """Which values of each axis to keep so that every kept cell is ok: a greedy choice.

    While a kept cell is not ok, drop the one axis value whose slice has the largest share of bad cells
    (bad cells removed per cell removed), among axes that still have at least 2 values. Ties go first to a removal
    that leaves its axis with 2 or more values (an axis left with 1 value drops out of the decomposition), then to
    the lower axis position, then to the lower value position: deterministic.

    Parameters
    ----------
    ok : bool array, one dimension per axis, True where a cell is usable.

    Returns
    -------
    For each axis, the kept value positions in increasing order. An axis may end with a single value; if the last
    cell left is bad, every axis keeps one value and the caller finds no ok cell.
    """
    kept = [list(range(n)) for n in ok.shape]
    while True:
        sub = ok[np.ix_(*kept)]
        if sub.all():
            return kept
        bad = ~sub
        best: tuple | None = None
        for axis, values in enumerate(kept):
            if len(values) < 2:
                continue
            others = tuple(i for i in range(ok.ndim) if i != axis)
            bad_per_value = bad.sum(axis=others) if others else bad.astype(int)
            removed = sub.size // len(values)
            for position, n_bad in enumerate(bad_per_value):
                # Fractions: exact ratios, so ties are ties and the tie-break decides, not rounding.
                key = (-Fraction(int(n_bad), removed), len(values) == 2, axis, position)
                if best is None or key < best:
                    best = key
        if best is None:  # every axis has one value and that cell is bad
            return kept
        _, _, axis, position = best
        del kept[axis][position]


# ---------------------------------------------------------------------------------------------------------------------
# The decomposition


def _sums_of_squares(cells: np.ndarray) -> tuple[dict[tuple[int, ...], np.ndarray], np.ndarray]:
    """Balanced ANOVA sums of squares of main effects and two-way interactions, batched.

    ``cells`` has a leading batch dimension and one dimension per varying axis. Returns ``{(i,): SS, (i, j): SS}``
    and the total SS, each of shape ``(batch,)``. On a complete factorial these are exact: the terms are
    orthogonal, so they and the higher-order remainder add up to the total.
    """
    n_axes = cells.ndim - 1
    dims = tuple(range(1, n_axes + 1))
    grand = cells.mean(axis=dims, keepdims=True)
    n_cells = np.prod(cells.shape[1:])

    def marginal(keep: tuple[int, ...]) -> np.ndarray:
        return cells.mean(axis=tuple(d for d in dims if d - 1 not in keep), keepdims=True)

    def sum_of_squares(effect: np.ndarray) -> np.ndarray:
        # An effect counts once per cell it covers: every entry of a marginal table stands for this many cells.
        return (effect**2).sum(axis=dims) * (n_cells / np.prod(effect.shape[1:]))

    main = {i: marginal((i,)) - grand for i in range(n_axes)}
    ss = {(i,): sum_of_squares(effect) for i, effect in main.items()}
    for i, j in itertools.combinations(range(n_axes), 2):
        ss[(i, j)] = sum_of_squares(marginal((i, j)) - main[i] - main[j] - grand)
    total = ((cells - grand) ** 2).sum(axis=dims)
    return ss, total


def _shares(cells: np.ndarray) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Terms (main effects, pairs, then the residual as ``()``), their shares ``(batch, terms)`` and total SS."""
    ss, total = _sums_of_squares(cells)
    terms = list(ss)
    matrix = np.stack([ss[t] for t in terms], axis=1)
    if cells.ndim - 1 >= 3:
        # Everything of higher order: what the main effects and pairs leave of the total.
        matrix = np.column_stack([matrix, total - matrix.sum(axis=1)])
        terms.append(())
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total[:, None] > 0, matrix / total[:, None], np.nan)
    return terms, shares, total


def _degrees_of_freedom(terms: Sequence[tuple[int, ...]], sizes: Sequence[int]) -> list[int]:
    named = [int(np.prod([sizes[i] - 1 for i in t])) for t in terms if t]
    if len(named) < len(terms):  # the residual: all the cells' df the named terms do not take
        named.append(int(np.prod(sizes)) - 1 - sum(named))
    return named


def _cell_mean_noise(scores: np.ndarray) -> float:
    """Variance of a cell's mean score from fold noise alone; ``scores`` is ``[cells, folds]``.

    The cell x fold residual of a two-way layout: a fold that is hard for every cell shifts all cell means alike
    and moves no share, so it is taken out before the spread is measured.
    """
    n_cells, n_folds = scores.shape
    residual = scores - scores.mean(axis=1, keepdims=True) - scores.mean(axis=0, keepdims=True) + scores.mean()
    return float((residual**2).sum() / ((n_cells - 1) * (n_folds - 1))) / n_folds


def _bootstrap_shares(splits: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Shares recomputed on ``n_boot`` resamples of the folds (the last axis): shape ``(n_boot, terms)``.

    Resampling K splits with replacement is drawing a multinomial count per split; the cell score of a resample
    is then a weighted mean, which needs cells x n_boot numbers instead of cells x n_boot x K.
    """
    k = splits.shape[-1]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot) / k
    cells = np.moveaxis(splits @ weights.T, -1, 0)
    return _shares(cells)[1]


def _kept_by_name(ok: np.ndarray, axes: Sequence[str]) -> list[list[int]]:
    """:func:`complete_subgrid` with ties between axes going by axis name rather than grid order."""
    # complete_subgrid prefers lower axis positions, so hand it the axes sorted by name and map back.
    order = sorted(range(len(axes)), key=lambda i: str(axes[i]))
    kept = complete_subgrid(np.transpose(ok, order))
    return [kept[order.index(i)] for i in range(len(axes))]


def _empty_importance(left_out: dict, constant: list[str], n_splits: int, n_folds: int) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object if c in ("term", "kind") else float) for c in IMPORTANCE_COLUMNS})
    frame["df"] = frame["df"].astype(int)
    about = {"left_out": left_out, "constant_axes": constant, "n_cells": 0, "n_splits": n_splits, "n_folds": n_folds}
    frame.attrs.update(about)
    return frame


def importance(
    table: pd.DataFrame,
    grid: Mapping[str, Sequence],
    metric: str,
    *,
    folds: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """How much of the variation of the cell scores each axis, and each pair of axes, explains.

    The score of a cell is its mean over the K splits. On the complete factorial grid the total sum of squares
    of the cell scores around their grand mean splits exactly into main effects (marginal means of an axis minus
    the grand mean), two-way interactions (cell means over a pair minus both main effects minus the grand mean) and
    a residual holding every higher-order interaction. A term's share is its sum of squares over the total.

    Parameters
    ----------
    table : the summary table, one row per cell.
    grid : the config's grid, ``{axis: [values]}``; its order is the order of the axes in the pair names.
    metric : the metric to decompose (``split<k>_test_<metric>`` columns).
    folds : cross-validation folds (1 in holdout mode); the K split columns are repetitions x folds. None: K folds.
    n_boot, seed : bootstrap resamples of the folds and their seed (same seed, same intervals).

    Returns
    -------
    One row per term, sorted by share (descending, residual last), columns:

    - ``term``: an axis, two axes joined by ``":"`` in grid order, or ``"residual"`` (only with 3 or more
      varying axes; with 2, the pair is everything there is).
    - ``kind``: ``"main"``, ``"interaction"`` or ``"residual"``; ``df``: degrees of freedom.
    - ``share``, ``share_low``, ``share_high``: the share and its 2.5 % / 97.5 % bootstrap percentiles over
      the folds (each fold with all its repetitions; NaN with one fold).
    - ``noise_share``: the share fold noise alone would give the term on average: df x (variance of a cell
      mean, from the cell x fold residual) / total SS. A share near its noise share is no evidence of an effect.
      NaN with one fold.

    ``.attrs`` say what the numbers rest on: ``left_out`` (``{axis: [values dropped]}`` to make the grid
    complete), ``constant_axes`` (axes with a single value, in the grid or after dropping, left out of the terms),
    ``n_cells`` (cells used), ``n_splits`` (K) and ``n_folds``.

    Incomplete grids: the decomposition needs every cell. While a cell of the kept sub-grid is missing, failed or
    diverged, the axis value whose removal drops the most bad cells per cell removed goes (see
    :func:`complete_subgrid`). Fewer than 2 cells left: an empty table with the same columns.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    columns = split_columns(table, metric)
    axes = list(grid)
    cube = _cube(table, grid, columns)
    kept = _kept_by_name(np.isfinite(cube).all(axis=-1), axes)
    left_out = {a: [v for i, v in enumerate(grid[a]) if i not in k] for a, k in zip(axes, kept)}
    left_out = {a: values for a, values in left_out.items() if values}
    constant = [a for a, k in zip(axes, kept) if len(k) == 1]

    sub = cube[np.ix_(*kept, np.arange(len(columns)))]
    if sub.size == 0 or not np.isfinite(sub).all() or sub[..., 0].size < 2:
        n_folds = len(columns) if folds is None else folds
        return _empty_importance(left_out, constant, len(columns), n_folds)
    varying = [i for i, k in enumerate(kept) if len(k) > 1]
    splits = sub.reshape([len(kept[i]) for i in varying] + [len(columns)])
    sizes = splits.shape[:-1]

    units = fold_means(splits, folds)  # the independent resamples: one score per fold
    terms, shares, total = _shares(units.mean(axis=-1)[None])
    n_folds = units.shape[-1]
    dfs = _degrees_of_freedom(terms, sizes)
    low, high, noise = (np.full(len(terms), np.nan) for _ in range(3))
    if n_folds >= 2:
        with warnings.catch_warnings():
            # A term whose resamples all have zero total SS gets a NaN interval, as meant: no "All-NaN" warning.
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(_bootstrap_shares(units, n_boot, seed), [2.5, 97.5], axis=0)
        if total[0] > 0:
            noise = np.array(dfs) * _cell_mean_noise(units.reshape(-1, n_folds)) / total[0]

    names = [":".join(axes[varying[i]] for i in t) if t else RESIDUAL for t in terms]
    kinds = ["main" if len(t) == 1 else "interaction" if t else RESIDUAL for t in terms]
    frame = pd.DataFrame(
        {
            "term": names,
            "kind": kinds,
            "df": dfs,
            "share": shares[0],
            "share_low": low,
            "share_high": high,
            "noise_share": noise,
        }
    )
    frame = frame.assign(_residual=frame["kind"] == RESIDUAL).sort_values(
        ["_residual", "share"], ascending=[True, False], kind="stable", na_position="last"
    )
    frame = frame.drop(columns="_residual").reset_index(drop=True)
    frame.attrs.update(
        {
            "left_out": left_out,
            "constant_axes": constant,
            "n_cells": int(np.prod(sizes)),
            "n_splits": len(columns),
            "n_folds": n_folds,
        }
    )
    return frame


# ---------------------------------------------------------------------------------------------------------------------
# Tied with the best


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
    ranks = table[f"rank_test_{metric}"].to_numpy(dtype=float)
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
        usable = _usable(table, columns) if np.isfinite(scores[best]).all() else np.zeros(len(table), dtype=bool)
        for row in np.flatnonzero(usable):
            p[row] = corrected_ttest(differences[row], n_train=n_train, n_test=n_test)
        p[best] = 1.0
    tied = pd.array(np.nan_to_num(p, nan=-np.inf) >= alpha, dtype="boolean")
    if best is not None and differences.shape[-1] < 2:
        tied[usable] = pd.NA  # one fold: nothing to test a cell against the best with
        tied[best] = True
    return pd.DataFrame({"p_vs_best": p, "tied_with_best": tied}, index=table.index)


# ---------------------------------------------------------------------------------------------------------------------
# The body of rule importance


def write_importance(
    *, summary_csv: str, grid: Mapping[str, Sequence], metric: str, folds: int, csv_path: str, log_path: str
):
    """Decompose ``metric`` over the grid and write results/importance.csv atomically.

    Besides :data:`IMPORTANCE_COLUMNS`, every row repeats what the numbers rest on: ``n_cells``, ``n_splits``,
    ``n_folds`` and ``left_out`` (JSON: the axis values left out to make the grid complete).
    """
    with job_log(log_path) as log:
        table = pd.read_csv(summary_csv, keep_default_na=False, na_values=[""])
        shares = importance(table, grid, metric, folds=folds)
        about = dict(shares.attrs)  # pandas does not promise to keep attrs through assign
        shares = shares.assign(
            n_cells=about["n_cells"],
            n_splits=about["n_splits"],
            n_folds=about["n_folds"],
            left_out=json.dumps(about["left_out"]),
        )
        with atomic_path(csv_path) as tmp:
            shares.to_csv(tmp, index=False)
        log.info("%d terms over %d cells; left out: %s", len(shares), about["n_cells"], about["left_out"])
