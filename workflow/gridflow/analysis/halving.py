"""Successive halving over the grid: which cells of a round go on.

The choice of a round is a file (results/halving/round-<r>.json), written by
a Snakemake checkpoint once the round's cells are trained; the next round's
cells follow from it (gridflow.spec.search says how many rounds and epochs).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from gridflow.analysis.scores import score_cells
from gridflow.analysis.summary import summarize
from gridflow.io import write_json
from gridflow.logs import job_log
from gridflow.results import grammar
from gridflow.spec.search import BUDGET_AXIS, kept_cells, without_budget


def survivors(table: pd.DataFrame, keep: int) -> list[str]:
    """The grid cells of the ``keep`` best ok rows of a round's ranked summary (fewer if fewer are ok).

    Like scikit-learn's ``_top_k`` by mean CV score, except that a cell that failed or diverged never goes on.
    """
    ok = table[table["status"] == grammar.OK]
    return [without_budget(cell) for cell in ok["cell"].head(keep)]


def write_round(
    *, metric_paths: Sequence[str], split_path: str, axes: Sequence[str], metric: str, factor: int, output: str,
    log_path: str,
) -> None:  # fmt: skip
    """Rank a round's cells and keep the best ``ceil(n / factor)``: the body of checkpoint select_round."""
    with job_log(log_path) as log:
        table = summarize(score_cells(metric_paths, split_path), [*axes, BUDGET_AXIS], metric)
        keep = kept_cells(len(table), factor)
        going_on = survivors(table, keep)
        ranked = [
            {"cell": row["cell"], "status": row["status"], "mean": row[grammar.mean_column(metric)]}
            for _, row in table.iterrows()
        ]
        epochs = sorted(set(table[grammar.param_column(BUDGET_AXIS)].astype(int)))
        write_json({"epochs": epochs, "metric": metric, "keep": keep, "cells": ranked, "survivors": going_on}, output)
        log.info("%d cells at %s epochs; %d go on: %s", len(table), epochs, len(going_on), going_on)
