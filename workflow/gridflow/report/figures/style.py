"""What every figure shares: look, metric labels, the colour scale and saving.

Figures are built with matplotlib's object API on an Agg canvas (no pyplot).
matplotlib's style settings are process-wide, so figures drawn in threads of
one process (a local run) take turns; matplotlib holds the GIL most of the
time anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow.io import atomic_path
from gridflow.results.grammar import OK, mean_column
from gridflow.spec import grid as gridlib
from gridflow.spec.metrics import LOWER_IS_BETTER

# One look for every figure: readable fonts at report size, light grids, no top/right frame.
RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",  # SVG text stays text: searchable, editable
    "savefig.dpi": 120,
}
# Colours from viridis (the heatmaps' map) plus one contrasting orange.
CELL_COLOUR = "#31688e"  # cells, training curves
CONTRAST_COLOUR = "#e8781e"  # held-out curves, model.fit cells
BEST_COLOUR = "#35b779"  # the best cell per value
STAR_COLOUR = "#fde725"  # the best cell of the run
FRAME_COLOUR = "#555555"
TIED_COLOUR = "#e8781e"  # outline of cells tied with the best (corrected t-test)
BAD_COLOUR = "#b00020"  # diverged, failed and missing cells
MISSING_FACE = "#d9d9d9"
METRIC_LABELS = {
    "accuracy": "accuracy",
    "loss": "cross-entropy loss",
    "roc_auc": "ROC AUC",
    "f1": "macro F1",
    "precision": "macro precision",
    "recall": "macro recall",
    "r2": "R²",
    "mse": "mean squared error",
    "rmse": "root mean squared error",
    "mae": "mean absolute error",
}


def metric_label(metric: str, prefix: str = "mean CV") -> str:
    return f"{prefix} {METRIC_LABELS.get(metric, metric)}".strip()


def colour_map(metric: str) -> str:
    """Bright means better, whichever way the metric points."""
    return "viridis_r" if metric in LOWER_IS_BETTER else "viridis"


def ok_cells(table: pd.DataFrame, metric: str) -> pd.Series:
    """Which summary rows count in a figure: status ok and a finite CV mean of ``metric``."""
    return (table["status"] == OK) & np.isfinite(table[mean_column(metric)].astype(float))


def colour_limits(table: pd.DataFrame, metric: str) -> tuple[float, float]:
    """(vmin, vmax) of the CV mean over every ok cell: one scale for a whole figure set."""
    values = table.loc[ok_cells(table, metric), mean_column(metric)].astype(float)
    if values.empty:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    return (low, high) if high > low else (low - 0.5e-3, high + 0.5e-3)


def wrap(text: str, width_inches: float) -> str:
    """Break a title into lines that fit ``width_inches`` at the title font size."""
    import textwrap

    return textwrap.fill(text, max(20, int(width_inches * 10)), break_on_hyphens=False)


def value_labels(values: Sequence) -> list[str]:
    return [gridlib.format_value(v) for v in values]


# An axis names up to this many values; one with more names every k-th, so that the labels stay readable.
NAMED_MAX = 15


def named_ticks(labels: Sequence[str]) -> tuple[range, list[str], int]:
    """Positions and labels of the ticks to name, every k-th of more than NAMED_MAX, and their rotation."""
    step = -(-len(labels) // NAMED_MAX)
    positions = range(0, len(labels), step)
    return positions, [labels[p] for p in positions], 90 if step > 1 else 0


_drawing = threading.Lock()


@contextmanager
def styled():
    """Apply the shared look to the figures created and saved inside, one block at a time per process."""
    import matplotlib

    with _drawing, matplotlib.rc_context(RC):
        yield


def new_figure(width: float, height: float):
    """A constrained-layout figure on its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, paths: Sequence[str]) -> None:
    """Write the figure to each path, format from its suffix (png, svg), atomically."""
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."))
