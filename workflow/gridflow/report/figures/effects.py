"""Marginal effect of one axis: the selection metric for each of its values.

Per value, a box and dots show the spread of the cells' CV means over every
value of the other axes; a diamond with error bars shows the best cell with
that value and its standard deviation over repetitions x folds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridflow.logs import job_log
from gridflow.report.figures import style
from gridflow.results.grammar import grid_rows, mean_column, read_summary, std_column
from gridflow.spec import grid as gridlib
from gridflow.spec.metrics import LOWER_IS_BETTER


@dataclass(frozen=True)
class ValueEffect:
    """The ok cells with one value of an axis."""

    value: str
    cell_means: np.ndarray  # CV mean of each ok cell with this value
    best_mean: float  # the best of those (NaN if none)
    best_std: float  # that cell's std over repetitions x folds
    n_not_ok: int  # cells with this value that diverged, failed or are missing


def axis_effect(table: pd.DataFrame, grid: Mapping[str, list], axis: str, metric: str) -> list[ValueEffect]:
    """The effect of each value of ``axis``, in the grid's value order."""
    values = table["cell"].map(lambda cell: gridlib.parse_cell_id(cell)[axis])
    mean, std = table[mean_column(metric)].astype(float), table[std_column(metric)].astype(float)
    ok = style.ok_cells(table, metric)
    per_value = math.prod(len(values) for values in grid.values()) // len(grid[axis])
    effects = []
    for value in style.value_labels(grid[axis]):
        here = (values == value) & ok
        means = mean[here].to_numpy()
        if means.size:
            top = mean[here].idxmin() if metric in LOWER_IS_BETTER else mean[here].idxmax()
            best_mean, best_std = float(mean[top]), float(std[top])
        else:
            best_mean = best_std = float("nan")
        effects.append(ValueEffect(value, means, best_mean, best_std, per_value - int(here.sum())))
    return effects


def plot_marginal_effect(
    *, summary_csv: str, grid: Mapping[str, list], axis: str, metric: str, outputs: Sequence[str], log_path: str
) -> None:
    """Draw the marginal-effect figure of one axis (PNG and SVG): the body of rule plot_marginal_effect."""
    with job_log(log_path) as log, style.styled():
        table = grid_rows(read_summary(summary_csv))  # a halving search: its round 0, the complete grid
        effects = axis_effect(table, grid, axis, metric)
        # Past style.NAMED_MAX values the boxes narrow, and every k-th value is named.
        fig = style.new_figure(max(5.0, 1.1 * min(len(effects), style.NAMED_MAX) + 2.2), 4.2)
        ax = fig.add_subplot()
        _draw(ax, effects)
        fig.legend(loc="outside lower center")
        ax.set_xlabel(axis)
        ax.set_ylabel(style.metric_label(metric))
        others = [a for a in grid if a != axis]
        spread = style.wrap(f"spread over {', '.join(others)}", fig.get_figwidth() - 1.0)
        ax.set_title(f"effect of {axis}" + (f"\n{spread}" if others else ""))
        style.save_figure(fig, outputs)
        log.info("wrote %s", ", ".join(outputs))


def _draw(ax, effects: Sequence[ValueEffect]) -> None:
    positions = np.arange(len(effects))
    filled = [(p, e.cell_means) for p, e in zip(positions, effects) if e.cell_means.size]
    if filled:
        ax.boxplot(
            [m for _, m in filled],
            positions=[p for p, _ in filled],
            widths=0.45,
            showfliers=False,
            medianprops={"color": style.CELL_COLOUR, "linewidth": 1.5},
            boxprops={"color": style.FRAME_COLOUR},
            whiskerprops={"color": style.FRAME_COLOUR},
            capprops={"color": style.FRAME_COLOUR},
        )
    jitter = np.random.default_rng(0)  # fixed: the same figure on every run
    for p, means in filled:
        ax.scatter(p + jitter.uniform(-0.14, 0.14, means.size), means, s=12, color=style.CELL_COLOUR, alpha=0.45, lw=0)
    best = [(p, e) for p, e in zip(positions, effects) if np.isfinite(e.best_mean)]
    ax.errorbar(
        [p + 0.32 for p, _ in best],
        [e.best_mean for _, e in best],
        yerr=[e.best_std for _, e in best],
        fmt="D",
        color=style.BEST_COLOUR,
        markeredgecolor="black",
        markersize=6,
        capsize=3,
        label="best cell ± std over repetitions × folds",
    )
    ax.scatter(
        [], [], s=12, color=style.CELL_COLOUR, alpha=0.6, label="one cell (CV mean); box: spread over the other axes"
    )
    bottom = ax.get_ylim()[0]
    for p, e in zip(positions, effects):
        if e.n_not_ok:
            ax.annotate(
                f"{e.n_not_ok} not ok", (p, bottom), xytext=(0, 4), textcoords="offset points",
                ha="center", va="bottom", fontsize=8, color=style.BAD_COLOUR,
            )  # fmt: skip
    ticks, labels, rotation = style.named_ticks([e.value for e in effects])
    ax.set_xticks(ticks, labels, rotation=rotation)
    ax.set_xlim(-0.6, len(effects) - 0.3)
    ax.grid(axis="y")
