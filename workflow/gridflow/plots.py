"""Heatmaps of the selection metric over two axes, the others held at the best cell."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow import grid as gridlib
from gridflow.io import atomic_path
from gridflow.logs import job_log
from gridflow.scoring import LOWER_IS_BETTER

METRIC_LABELS = {"accuracy": "accuracy", "loss": "loss", "roc_auc": "ROC AUC", "f1": "macro F1"}


def heatmap_slice(
    table: pd.DataFrame, grid: Mapping[str, list], a: str, b: str, fixed: Mapping[str, object], metric: str
):
    """Values of ``mean_cv_<metric>`` and statuses on the a x b plane through ``fixed``.

    Returns (values, statuses) arrays of shape [len(grid[a]), len(grid[b])], in
    the grid's value order; statuses are 'ok', 'diverged', 'failed' or '' (missing).
    """
    by_id = table.set_index("cell")
    values = np.full((len(grid[a]), len(grid[b])), np.nan)
    statuses = np.full(values.shape, "", dtype=object)
    for i, va in enumerate(grid[a]):
        for j, vb in enumerate(grid[b]):
            cell = gridlib.cell_id({**fixed, a: va, b: vb})
            if cell in by_id.index:
                values[i, j] = by_id.at[cell, f"mean_cv_{metric}"]
                statuses[i, j] = by_id.at[cell, "status"]
    return values, statuses


def plot_heatmap(
    summary_csv: str, best_json: str, grid: Mapping[str, list], a: str, b: str, metric: str, out_png: str, log_path: str
) -> None:
    """Draw one heatmap PNG: the body of rule plot_heatmap."""
    with job_log(log_path) as log:
        _plot_heatmap(summary_csv, best_json, grid, a, b, metric, out_png)
        log.info("wrote %s", out_png)


def _plot_heatmap(summary_csv, best_json, grid, a, b, metric, out_png) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = pd.read_csv(summary_csv, keep_default_na=True)
    best = json.loads(Path(best_json).read_text())
    first = gridlib.expand_grid(grid)[0]
    held = best["params"] or first
    fixed = {axis: gridlib.canonical_value(held[axis]) for axis in grid if axis not in (a, b)}
    values, statuses = heatmap_slice(table, grid, a, b, fixed, metric)

    label = f"mean CV {METRIC_LABELS.get(metric, metric)}"
    fig = Figure(figsize=(1.2 * len(grid[b]) + 3.2, 0.8 * len(grid[a]) + 2.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = "viridis_r" if metric in LOWER_IS_BETTER else "viridis"
    shown = np.where(statuses == "ok", values, np.nan)
    finite = shown[np.isfinite(shown)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    image = ax.imshow(
        np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1e-9, aspect="auto"
    )
    ax.set_facecolor("#d9d9d9")
    fig.colorbar(image, ax=ax, label=label)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            status = statuses[i, j]
            if status == "ok":
                rel = (values[i, j] - vmin) / (vmax - vmin) if vmax > vmin else 0.5
                bright = rel > 0.55 if metric not in LOWER_IS_BETTER else rel < 0.45
                ax.text(
                    j,
                    i,
                    f"{values[i, j]:.3f}",
                    ha="center",
                    va="center",
                    color="black" if bright else "white",
                    fontsize=10,
                )
            else:
                ax.add_patch(_hatch(i, j))
                ax.text(
                    j, i, status or "missing", ha="center", va="center", color="#b00020", fontsize=9, fontweight="bold"
                )
    ax.set_xticks(range(len(grid[b])), [gridlib.format_value(v) for v in grid[b]])
    ax.set_yticks(range(len(grid[a])), [gridlib.format_value(v) for v in grid[a]])
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    held_text = ", ".join(f"{k}={gridlib.format_value(v)}" for k, v in fixed.items())
    ax.set_title(f"{label}: {a} x {b}" + (f"\n{held_text} (best cell)" if held_text else ""), fontsize=10)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def _hatch(i: int, j: int):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="xx", edgecolor="#b00020", linewidth=0)
