"""Turn the cells' metrics files into one table, in scikit-learn's cv_results_ grammar.

A pure function of the metrics files: re-running it changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow.io import atomic_path, write_json
from gridflow.logs import job_log
from gridflow.scoring import LOWER_IS_BETTER, METRICS


def read_records(paths: Sequence[str | Path]) -> list[dict]:
    """Read the metrics.json of every cell."""
    return [json.loads(Path(p).read_text()) for p in paths]


def _mean_std(models: Sequence[Mapping], role: str, metric: str) -> tuple[float, float]:
    values = [m["metrics"][metric] for m in models if m["role"] == role and m["metrics"] is not None]
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    return float(np.mean(values)), float(np.std(values))


def cell_row(record: Mapping, axes: Sequence[str]) -> dict:
    """One summary row: ids, params, mean/std of every metric on CV and test."""
    row: dict = {"cell": record["cell"]}
    row.update({f"param_{axis}": record["params"][axis] for axis in axes})
    for metric in METRICS:
        for role, name in (("cv", "cv"), ("test", "test")):
            mean, std = _mean_std(record["models"], role, metric)
            row[f"mean_{name}_{metric}"] = mean
            row[f"std_{name}_{metric}"] = std
    n_models = len(record["models"])
    timing = record.get("timing", {})
    fit_seconds = timing.get("fit_seconds")
    row["mean_fit_time"] = fit_seconds / n_models if n_models and fit_seconds is not None else float("nan")
    row["fit_seconds"] = float("nan") if fit_seconds is None else fit_seconds
    row["trainer"] = record.get("trainer") or ""
    # Where the fused loop came from: compiled (fit_seconds includes building it) or memory
    # (built by an earlier cell of this process); and how it ran: xla or graph. Empty for model.fit.
    row["loop_source"] = timing.get("loop_source") or ""
    row["loop_mode"] = timing.get("loop_mode") or ""
    row["n_params"] = record["n_params"]
    row["status"] = record["status"]
    row["error"] = record["error"] or ""
    return row


def summarize(records: Sequence[Mapping], axes: Sequence[str], metric: str) -> pd.DataFrame:
    """The summary table, ranked by the CV mean of ``metric`` (1 = best).

    Cells that diverged or failed share the last rank. Rows are sorted by rank,
    then by cell id, so the table does not depend on the order of ``records``.
    """
    table = pd.DataFrame([cell_row(r, axes) for r in records])
    score = table[f"mean_cv_{metric}"].astype(float)
    if metric in LOWER_IS_BETTER:
        score = -score
    score = score.where((table["status"] == "ok") & score.notna(), -np.inf)
    table["rank"] = score.rank(method="min", ascending=False).astype(int)
    return table.sort_values(["rank", "cell"], kind="stable").reset_index(drop=True)


def best_cell(table: pd.DataFrame, metric: str) -> dict:
    """The top-ranked cell with its values and CV and test scores (cell None if no cell is ok)."""
    ok = table[table["status"] == "ok"]
    if ok.empty:
        return {"cell": None, "metric": metric, "params": None, "cv": None, "test": None}
    top = ok.iloc[0]
    params = {c.removeprefix("param_"): _plain(top[c]) for c in table.columns if c.startswith("param_")}
    return {
        "cell": top["cell"],
        "metric": metric,
        "rank": int(top["rank"]),
        "params": params,
        "cv": {m: {"mean": float(top[f"mean_cv_{m}"]), "std": float(top[f"std_cv_{m}"])} for m in METRICS},
        "test": {m: {"mean": float(top[f"mean_test_{m}"]), "std": float(top[f"std_test_{m}"])} for m in METRICS},
    }


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def write_summary(
    *, metric_paths: Sequence[str], axes: Sequence[str], metric: str, csv_path: str, best_path: str, log_path: str
) -> None:
    """Read the metrics files, write summary.csv and best.json atomically: the body of rule summarize."""
    with job_log(log_path) as log:
        table = summarize(read_records(metric_paths), axes, metric)
        with atomic_path(csv_path) as tmp:
            table.to_csv(tmp, index=False)
        best = best_cell(table, metric)
        write_json(best, best_path)
        log.info("%d cells, %s; best: %s", len(table), table["status"].value_counts().to_dict(), best["cell"])
