"""Turn the scored cells into one table, in scikit-learn's cv_results_ grammar (gridflow.results.grammar).

A pure function of the cells' files and the split: re-running it changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridflow.analysis.baseline import baseline_scores
from gridflow.analysis.scores import ScoredCell, score_cells
from gridflow.analysis.ties import compare_with_best
from gridflow.io import atomic_path, write_json
from gridflow.logs import job_log
from gridflow.results import grammar
from gridflow.results.grammar import CV, HOLDOUT, mean_column, rank_column, std_column
from gridflow.spec.metrics import LOWER_IS_BETTER, task_metrics
from gridflow.spec.search import BUDGET_AXIS


@dataclass(frozen=True)
class CvLayout:
    """The cross-validation models as every cell of a run has them (none, NaN sizes: no cell trained one)."""

    repetitions: int
    folds: int
    n_train: float  # mean samples a fold's model trained on, and held out: the t-test's correction needs them
    n_test: float


def cv_layout(cells: Sequence[ScoredCell]) -> CvLayout:
    """Repetitions, folds and fold sizes, read from the cells' CV models."""
    cv = [m for cell in cells for m in cell.record.cv_models()]
    if not cv:
        return CvLayout(0, 0, float("nan"), float("nan"))
    return CvLayout(
        repetitions=max(m.repetition for m in cv) + 1,
        folds=max(int(m.fold) for m in cv) + 1,
        n_train=float(np.mean([m.n_train for m in cv])),
        n_test=float(np.mean([m.n_eval for m in cv])),
    )


def _scores(scored: Sequence[dict[str, float] | None], metric: str) -> list[float]:
    """``metric`` of each model that trained (diverged ones have no scores)."""
    values = [s[metric] for s in scored if s is not None]
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    # np.std with ddof 0, as scikit-learn's cv_results_ reports it. NumPy's sums, to the last bit: a summary
    # remade after an upgrade must rank ties, and so a halving round's survivors, as before.
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), float("nan"))


def cell_row(cell: ScoredCell, axes: Sequence[str], *, metrics: Sequence[str], layout: CvLayout) -> dict:
    """One summary row: ids, values, every metric per split, its mean and std, the holdout, cost, status."""
    record, cv = cell.record, cell.scored("cv")
    cv_scores = [s for _, s in cv]
    row: dict = {"cell": record.cell}
    row["mean_fit_time"], row["std_fit_time"] = _mean_std([m.fit_seconds for m, _ in cv if m.fit_seconds is not None])
    row.update({grammar.param_column(axis): record.params[axis] for axis in axes})
    row["params"] = json.dumps({axis: record.params[axis] for axis in axes})
    by_split = {m.repetition * layout.folds + int(m.fold): s for m, s in cv}
    for metric in metrics:
        for k in range(layout.repetitions * layout.folds):
            scores = _scores([by_split[k]], metric) if k in by_split else []
            row[grammar.split_column(k, metric)] = scores[0] if scores else float("nan")
        row[mean_column(metric)], row[std_column(metric)] = _mean_std(_scores(cv_scores, metric))
    for metric in metrics:
        scores = _scores([s for _, s in cell.scored("test")], metric)
        row[mean_column(metric, HOLDOUT)], row[std_column(metric, HOLDOUT)] = _mean_std(scores)
    timing = record.timing
    row["fit_seconds"] = float("nan") if timing.fit_seconds is None else timing.fit_seconds
    row["trainer"] = record.trainer or ""
    # Where the fused loop came from: compiled (fit_seconds includes building it), disk or memory
    # (built by an earlier cell of this process); and how it ran: xla or graph. Empty for model.fit.
    row["loop_source"] = timing.loop_source or ""
    row["loop_mode"] = timing.loop_mode or ""
    # The epoch its training began at: 0, or the epochs of the kept state it went on from.
    row["trained_from"] = record.trained_from
    row["n_params"] = record.n_params
    row["status"] = record.status
    row["error"] = record.error or ""
    return row


def _rank(table: pd.DataFrame, metric: str) -> pd.Series:
    """1 = best CV mean of ``metric``; cells that diverged or failed share the last rank."""
    score = table[mean_column(metric)].astype(float)
    if metric in LOWER_IS_BETTER:
        score = -score
    score = score.where((table["status"] == grammar.OK) & score.notna(), -np.inf)
    return score.rank(method="min", ascending=False).astype(int)


def summarize(
    cells: Sequence[ScoredCell],
    axes: Sequence[str],
    metric: str,
    *,
    alpha: float = 0.05,
    budgets: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The summary table, ranked by the CV mean of ``metric`` (1 = best).

    Every metric gets its ``rank_test_<metric>``; rows are sorted by the
    selection metric's rank, then by cell id, so the table does not depend on
    the order of ``cells``. ``p_vs_best`` and ``tied_with_best`` compare each
    cell with the best on the shared splits at level ``alpha``.

    A halving search (``budgets``: the epochs of its rounds, ``epochs`` among
    ``axes``) adds scikit-learn's ``iter`` and ``n_resources`` columns: as in
    ``HalvingGridSearchCV``, a row is a cell in a round, the ranks are over
    every row, and the best cell is the best of the last round; its rows come
    first, and only they are compared with the best.
    """
    layout = cv_layout(cells)
    metrics = task_metrics(metric)
    table = pd.DataFrame([cell_row(c, axes, metrics=metrics, layout=layout) for c in cells])
    if budgets:
        epochs = table[grammar.param_column(BUDGET_AXIS)]
        at = table.columns.get_loc("params") + 1
        table.insert(at, "iter", [list(budgets).index(e) for e in epochs])
        table.insert(at + 1, "n_resources", epochs.astype(int))
    for name in metrics:
        position = table.columns.get_loc(std_column(name)) + 1
        table.insert(position, rank_column(name), _rank(table, name))
    order = (["iter"] if budgets else []) + [rank_column(metric), "cell"]
    ascending = ([False] if budgets else []) + [True, True]
    table = table.sort_values(order, ascending=ascending, kind="stable").reset_index(drop=True)
    last = table["iter"] == table["iter"].max() if budgets else pd.Series(True, index=table.index)
    compared = compare_with_best(
        table[last],
        metric,
        n_train=layout.n_train,
        n_test=layout.n_test,
        folds=max(layout.folds, 1),
        alpha=alpha,
        lower_is_better=metric in LOWER_IS_BETTER,
    ).reindex(table.index)
    return table.assign(p_vs_best=compared["p_vs_best"], tied_with_best=compared["tied_with_best"])


def best_cell(table: pd.DataFrame, metric: str, baseline: Mapping | None = None) -> dict:
    """The top-ranked cell with its values, CV and holdout scores (cell None if no cell is ok).

    ``baseline`` (gridflow.analysis.baseline) is reported beside it, and how many cells are tied with it.
    """
    ok = table[table["status"] == grammar.OK]
    if "iter" in table:  # a halving search: the best of the last round
        ok = ok[ok["iter"] == table["iter"].max()]
    if ok.empty:
        best = {"cell": None, "metric": metric, "params": None, "cv": None, "holdout": None}
        return {**best, "n_cells": len(table), "n_tied": 0, "tie_tested": False, "baseline": baseline}
    top = ok.iloc[0]
    return {
        "cell": top["cell"],
        "metric": metric,
        "rank": int(top[rank_column(metric)]),
        "params": json.loads(top["params"]),
        "cv": _scores_of(top, CV, metric),
        "holdout": _scores_of(top, HOLDOUT, metric),
        "n_cells": len(table),
        # Cells the corrected t-test cannot tell from the best, the best included; with one validation part
        # there is nothing to test with (tie_tested false).
        "n_tied": int(grammar.tied_cells(table).sum()),
        "tie_tested": grammar.tie_tested(table),
        "baseline": baseline,
    }


def _scores_of(row: pd.Series, part: str, metric: str) -> dict:
    """Mean and std of every metric of ``metric``'s task on ``part`` (test: the CV folds; holdout)."""
    return {
        m: {"mean": float(row[mean_column(m, part)]), "std": float(row[std_column(m, part)])}
        for m in task_metrics(metric)
    }


def write_summary(
    *,
    metric_paths: Sequence[str],
    axes: Sequence[str],
    metric: str,
    alpha: float,
    split_path: str,
    csv_path: str,
    best_path: str,
    log_path: str,
    search: Mapping | None = None,
    budgets: Sequence[int] | None = None,
    processes: int = 0,
) -> None:
    """Score every cell from its files, write summary.csv and best.json atomically: the body of rule summarize.

    ``search`` (the config's) and, for a halving search, ``budgets`` say how the cells were chosen; best.json
    says it too, with what the search trained against the exhaustive grid. ``processes``: see score_cells.
    """
    with job_log(log_path) as log:
        cells = score_cells(metric_paths, split_path, processes=processes)
        table = summarize(cells, axes, metric, alpha=alpha, budgets=budgets)
        with atomic_path(csv_path) as tmp:
            table.to_csv(tmp, index=False)
        best = best_cell(table, metric, baseline_scores(split_path))
        write_json({**best, "search": search_report(table, search or {"strategy": "grid"})}, best_path)
        log.info("%d cells, %s; best: %s", len(table), table["status"].value_counts().to_dict(), best["cell"])


def search_report(table: pd.DataFrame, search: Mapping) -> dict:
    """How the search chose the summary's cells, for best.json.

    A halving search adds its rounds (epochs and cells each) and what it trained, in cell-epochs (a cell's models
    for one epoch): ``cell_epochs_trained`` (each cell's epochs less those it went on from) against
    ``cell_epochs_exhaustive`` (every cell of round 0 for the last round's epochs, the grid a search without
    halving trains).
    """
    report: dict = {"strategy": search["strategy"]}
    if search["strategy"] == "random":
        report |= {"n_cells": int(len(table)), "seed": search["seed"]}
    if "iter" not in table:
        return report
    rounds = table.groupby("iter")["n_resources"].agg(["max", "size"])
    report["factor"] = search["factor"]
    report["rounds"] = [{"epochs": int(e), "cells": int(n)} for e, n in zip(rounds["max"], rounds["size"])]
    report["cell_epochs_trained"] = int((table["n_resources"] - table["trained_from"]).sum())
    report["cell_epochs_exhaustive"] = int(rounds["size"].iloc[0] * rounds["max"].iloc[-1])
    return report
