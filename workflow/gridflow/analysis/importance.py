"""Which axes matter: an exact ANOVA decomposition of the cell scores over the grid.

Main effects and two-way interactions, with bootstrap intervals over the folds
and the share fold noise alone would give each term. Pure NumPy/pandas
functions of the summary table (gridflow.results.grammar).
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gridflow.analysis.folds import fold_means
from gridflow.analysis.subgrid import cube, kept_by_name
from gridflow.io import atomic_path
from gridflow.logs import job_log
from gridflow.results.grammar import grid_rows, read_summary, split_columns

IMPORTANCE_COLUMNS = ["term", "kind", "df", "share", "share_low", "share_high", "noise_share"]


RESIDUAL = "residual"
# Cell scores of bootstrap resamples held at once (8 bytes each).
BOOTSTRAP_NUMBERS = 2_000_000


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
    # A few resamples at a time: all 1,000 of a 100,000-cell grid at once would hold several copies of 800 MB.
    per_chunk = max(1, BOOTSTRAP_NUMBERS // splits[..., 0].size)
    chunks = [weights[start : start + per_chunk] for start in range(0, n_boot, per_chunk)]
    return np.concatenate([_shares(np.moveaxis(splits @ chunk.T, -1, 0))[1] for chunk in chunks])


def _empty_importance(about: dict) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object if c in ("term", "kind") else float) for c in IMPORTANCE_COLUMNS})
    frame["df"] = frame["df"].astype(int)
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

    A cell's score is its mean over the K splits; on the complete factorial grid the total sum of squares of the
    cell scores splits exactly into main effects, two-way interactions and a residual (every higher-order
    interaction). A term's share is its sum of squares over the total.

    Parameters
    ----------
    table : the summary table, one row per cell.
    grid : the config's grid, ``{axis: [values]}``; its order is the order of the axes in the pair names.
    metric : the metric to decompose (``split<k>_test_<metric>`` columns).
    folds : cross-validation folds (1 in holdout mode); the K split columns are repetitions x folds. None: K folds.
    n_boot, seed : bootstrap resamples of the folds and their seed (same seed, same intervals).

    Returns
    -------
    One row per term, sorted by share (descending, residual last): ``term`` (an axis, two axes joined by ``":"``
    in grid order, or ``"residual"``, only with 3 or more varying axes), ``kind`` (main, interaction, residual),
    ``df``, ``share`` with its 2.5 % / 97.5 % bootstrap percentiles over the folds (``share_low``,
    ``share_high``; NaN with one fold) and ``noise_share``, the share fold noise alone would give the term (df x
    the variance of a cell mean from the cell x fold residual / total SS; NaN with one fold).

    ``.attrs``: ``left_out`` (``{axis: [values dropped]}`` to make the grid complete, see
    :func:`gridflow.analysis.subgrid.complete_subgrid`), ``constant_axes`` (one value left, so no term),
    ``n_cells``, ``n_splits`` (K) and ``n_folds``. Fewer than 2 complete cells: an empty table.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    columns = split_columns(table, metric)
    axes = list(grid)
    scores = cube(table, grid, columns)
    kept = kept_by_name(np.isfinite(scores).all(axis=-1), axes)
    left_out = {a: [v for i, v in enumerate(grid[a]) if i not in k] for a, k in zip(axes, kept)}
    about = {
        "left_out": {a: values for a, values in left_out.items() if values},
        "constant_axes": [a for a, k in zip(axes, kept) if len(k) == 1],
        "n_cells": 0,
        "n_splits": len(columns),
        "n_folds": len(columns) if folds is None else folds,
    }
    sub = scores[np.ix_(*kept, np.arange(len(columns)))]
    if sub.size == 0 or not np.isfinite(sub).all() or sub[..., 0].size < 2:
        return _empty_importance(about)
    varying = [i for i, k in enumerate(kept) if len(k) > 1]
    splits = sub.reshape([len(kept[i]) for i in varying] + [len(columns)])
    units = fold_means(splits, folds)  # the independent resamples: one score per fold
    frame = _decompose(units, n_boot=n_boot, seed=seed, names=[axes[i] for i in varying])
    frame.attrs.update({**about, "n_cells": int(np.prod(splits.shape[:-1])), "n_folds": units.shape[-1]})
    return frame


def _decompose(units: np.ndarray, *, n_boot: int, seed: int, names: Sequence[str]) -> pd.DataFrame:
    """The terms of the cell means of ``units`` (one axis per varying grid axis, then the folds), sorted."""
    terms, shares, total = _shares(units.mean(axis=-1)[None])
    n_folds = units.shape[-1]
    dfs = _degrees_of_freedom(terms, units.shape[:-1])
    low, high, noise = (np.full(len(terms), np.nan) for _ in range(3))
    if n_folds >= 2:
        with warnings.catch_warnings():
            # A term whose resamples all have zero total SS gets a NaN interval, as meant: no "All-NaN" warning.
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(_bootstrap_shares(units, n_boot, seed), [2.5, 97.5], axis=0)
        if total[0] > 0:
            noise = np.array(dfs) * _cell_mean_noise(units.reshape(-1, n_folds)) / total[0]
    frame = pd.DataFrame(
        {
            "term": [":".join(names[i] for i in t) if t else RESIDUAL for t in terms],
            "kind": ["main" if len(t) == 1 else "interaction" if t else RESIDUAL for t in terms],
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
    return frame.drop(columns="_residual").reset_index(drop=True)


def write_importance(
    *, summary_csv: str, grid: Mapping[str, Sequence], metric: str, folds: int, csv_path: str, log_path: str
):
    """Decompose ``metric`` over the grid and write results/importance.csv atomically.

    Besides :data:`IMPORTANCE_COLUMNS`, every row repeats what the numbers rest on: ``n_cells``, ``n_splits``,
    ``n_folds`` and ``left_out`` (JSON: the axis values left out to make the grid complete).
    """
    with job_log(log_path) as log:
        table = grid_rows(read_summary(summary_csv))  # a halving search: its round 0, the complete grid
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
