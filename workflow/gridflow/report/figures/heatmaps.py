"""Heatmaps of the selection metric over two axes, in two flavours.

- slice: the other axes held at the best cell's values (the blog post's picture);
- marginal: for each pair of values, the best and the mean over every value of
  the other axes, so "this pair matters" can be told from "this slice is good".

Every heatmap of a run uses one colour scale (all ok cells' CV means).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow.logs import job_log
from gridflow.report.figures import style
from gridflow.results.grammar import grid_rows, mean_column, read_summary, tied_cells
from gridflow.spec import grid as gridlib
from gridflow.spec.metrics import LOWER_IS_BETTER, score_format

FLAVOURS = ("slice", "marginal")
# Squares carry their numbers up to this many values on each axis. A larger heatmap shrinks its squares to keep
# the figure this many squares' size, shows colour only, says so in its title, and names every k-th value.
WRITTEN_MAX = style.NAMED_MAX


def heatmap_slice(
    table: pd.DataFrame, *, grid: Mapping[str, list], a: str, b: str, fixed: Mapping[str, object], metric: str
):
    """Values of ``mean_test_<metric>`` and statuses on the a x b plane through ``fixed``.

    Returns (values, statuses, tied) arrays of shape [len(grid[a]), len(grid[b])],
    in the grid's value order; statuses are 'ok', 'diverged', 'failed' or ''
    (missing); tied marks cells tied with the best (summary's tied_with_best).
    """
    by_id = table.assign(tied=tied_cells(table)).set_index("cell")
    values = np.full((len(grid[a]), len(grid[b])), np.nan)
    statuses = np.full(values.shape, "", dtype=object)
    tied = np.zeros(values.shape, bool)
    for i, va in enumerate(grid[a]):
        for j, vb in enumerate(grid[b]):
            cell = gridlib.cell_id({**fixed, a: va, b: vb})
            if cell in by_id.index:
                values[i, j] = by_id.at[cell, mean_column(metric)]
                statuses[i, j] = by_id.at[cell, "status"]
                tied[i, j] = by_id.at[cell, "tied"]
    return values, statuses, tied


def heatmap_marginal(table: pd.DataFrame, *, grid: Mapping[str, list], a: str, b: str, metric: str):
    """Best and mean of ``mean_test_<metric>`` over the other axes, for each (a, b) pair of values.

    Only ok cells count. Returns (best, mean, n_not_ok, n_cells, n_tied) arrays of
    shape [len(grid[a]), len(grid[b])]; n_cells counts the summary's cells with
    that pair, n_tied those tied with the best.
    """
    parsed = table["cell"].map(gridlib.parse_cell_id)
    # Each row's square, by its values' positions (-1: a value the grid no longer has); one pass over the rows.
    rows_a = parsed.map(lambda v: v[a]).map({v: i for i, v in enumerate(style.value_labels(grid[a]))})
    rows_b = parsed.map(lambda v: v[b]).map({v: j for j, v in enumerate(style.value_labels(grid[b]))})
    ok = style.ok_cells(table, metric)
    frame = pd.DataFrame(
        {
            "i": rows_a.fillna(-1).astype(int),
            "j": rows_b.fillna(-1).astype(int),
            "score": table[mean_column(metric)].astype(float).where(ok),
            "not_ok": ~ok,
            "tied": tied_cells(table),
        }
    )
    frame = frame[(frame["i"] >= 0) & (frame["j"] >= 0)]
    squares = frame.groupby(["i", "j"]).agg(
        best=("score", "min" if metric in LOWER_IS_BETTER else "max"),
        mean=("score", "mean"),
        n_not_ok=("not_ok", "sum"),
        n_cells=("score", "size"),
        n_tied=("tied", "sum"),
    )
    where = (squares.index.get_level_values("i"), squares.index.get_level_values("j"))
    shape = (len(grid[a]), len(grid[b]))
    arrays = []
    for column, empty in (("best", np.nan), ("mean", np.nan), ("n_not_ok", 0), ("n_cells", 0), ("n_tied", 0)):
        array = np.full(shape, empty, dtype=float if column in ("best", "mean") else int)
        array[where] = squares[column].to_numpy()
        arrays.append(array)
    return tuple(arrays)


def plot_heatmap(
    *,
    summary_csv: str,
    best_json: str,
    grid: Mapping[str, list],
    a: str,
    b: str,
    metric: str,
    flavour: str,
    outputs: Sequence[str],
    log_path: str,
) -> None:
    """Draw one heatmap (PNG and SVG): the body of rule plot_heatmap."""
    with job_log(log_path) as log, style.styled():
        table = grid_rows(read_summary(summary_csv))  # a halving search: its round 0, the complete grid
        limits = style.colour_limits(table, metric)
        if flavour == "slice":
            fig = _slice_figure(
                table, json.loads(Path(best_json).read_text()), grid=grid, a=a, b=b, metric=metric, limits=limits
            )
        else:
            fig = _marginal_figure(table, grid=grid, a=a, b=b, metric=metric, limits=limits)
        style.save_figure(fig, outputs)
        log.info("wrote %s", ", ".join(outputs))


def _slice_figure(table, best, *, grid, a, b, metric, limits):
    held = best["params"] or gridlib.expand_grid(grid)[0]
    fixed = {axis: gridlib.canonical_value(held[axis]) for axis in grid if axis not in (a, b)}
    values, statuses, tied = heatmap_slice(table, grid=grid, a=a, b=b, fixed=fixed, metric=metric)
    bad = statuses != "ok"
    values = np.where(bad, np.nan, values)  # a diverged cell's surviving models do not make it a result
    labels = np.where(statuses == "", "missing", statuses)
    fig = style.new_figure(*_panel_size(grid, a, b, panels=1))
    ax = fig.add_subplot()
    image = _draw(
        ax, values, n_not_ok=bad.astype(int), n_cells=np.ones(values.shape, int), labels=labels, tied=tied, grid=grid,
        a=a, b=b, metric=metric, limits=limits,
    )  # fmt: skip
    fig.colorbar(image, ax=ax, label=style.metric_label(metric), shrink=0.9)
    held_text = ", ".join(f"{k}={gridlib.format_value(v)}" for k, v in fixed.items())
    width = fig.get_figwidth() - 1.4
    ax.set_title(
        f"{a} × {b}"
        + (f"\n{style.wrap(f'others at the best cell: {held_text}', width)}" if held_text else "")
        + _colour_only_note(grid, a, b)
    )
    return fig


def _marginal_figure(table, *, grid, a, b, metric, limits):
    best, mean, n_not_ok, n_cells, n_tied = heatmap_marginal(table, grid=grid, a=a, b=b, metric=metric)
    labels = np.where(n_cells == 0, "missing", "not ok")
    fig = style.new_figure(*_panel_size(grid, a, b, panels=2))
    axes = fig.subplots(1, 2, sharey=True)
    others = [axis for axis in grid if axis not in (a, b)]
    over = f"over {', '.join(others)}" if others else "(no other axes)"
    panel_width = (fig.get_figwidth() - 1.4) / 2
    # Outlined on the left: the pair holds a cell tied with the best.
    for ax, values, tied, name in ((axes[0], best, n_tied > 0, "best"), (axes[1], mean, None, "mean")):
        image = _draw(
            ax, values, n_not_ok=n_not_ok, n_cells=n_cells, labels=labels, tied=tied, grid=grid, a=a, b=b,
            metric=metric, limits=limits,
        )  # fmt: skip
        ax.set_title(style.wrap(f"{name} {over}", panel_width), fontsize=10)
    axes[1].set_ylabel("")
    fig.colorbar(image, ax=axes, label=style.metric_label(metric), shrink=0.9)
    fig.suptitle(f"{a} × {b}, marginal" + _colour_only_note(grid, a, b))
    return fig


def _panel_size(grid, a, b, panels: int) -> tuple[float, float]:
    def extent(n: int, square: float, panels: int = 1) -> float:  # inches of n squares; many share the width
        return square * n if n <= WRITTEN_MAX else square * WRITTEN_MAX / panels

    return panels * (extent(len(grid[b]), 0.9, panels) + 1.6) + 1.4, extent(len(grid[a]), 0.6) + 2.0


def _written(grid, a, b) -> bool:
    return max(len(grid[a]), len(grid[b])) <= WRITTEN_MAX


def _colour_only_note(grid, a, b) -> str:
    """What a heatmap too large for numbers in its squares says about it."""
    if _written(grid, a, b):
        return ""
    return f"\ncolour only: {len(grid[a])} × {len(grid[b])} values (numbers up to {WRITTEN_MAX} a side)"


def _ticks(ax, grid, a, b) -> None:
    """Every value's label, or every k-th on an axis with many (x labels then turned upright)."""
    positions, labels, rotation = style.named_ticks(style.value_labels(grid[b]))
    ax.set_xticks(positions, labels, rotation=rotation)
    positions, labels, _ = style.named_ticks(style.value_labels(grid[a]))
    ax.set_yticks(positions, labels)


def _draw(ax, values, *, n_not_ok, n_cells, labels, tied, grid, a, b, metric, limits):
    """One annotated heatmap panel; squares with cells that are not ok are hatched,
    squares marked in ``tied`` (if given) outlined: tied with the best cell.

    A square whose every cell is not ok is hatched densely and named (diverged,
    failed, missing); one where only some are shows its value and "k/n not ok".
    """
    from matplotlib.patches import Rectangle

    vmin, vmax = limits
    image = ax.imshow(np.ma.masked_invalid(values), cmap=style.colour_map(metric), vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_facecolor(style.MISSING_FACE)
    written = _written(grid, a, b)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            all_bad = not np.isfinite(values[i, j])
            if n_not_ok[i, j] or all_bad:
                hatch = "xx" if all_bad else "//"
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch=hatch, edgecolor=style.BAD_COLOUR, lw=0)
                )
            if tied is not None and tied[i, j]:
                ax.add_patch(
                    Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, edgecolor=style.TIED_COLOUR, lw=2.2)
                )
            if not written:
                continue
            if all_bad:
                ax.text(j, i, labels[i, j], ha="center", va="center", color=style.BAD_COLOUR, fontweight="bold")
                continue
            text = f"{values[i, j]:{score_format(metric)}}"
            if n_not_ok[i, j] and n_cells[i, j] > 1:
                text += f"\n{n_not_ok[i, j]}/{n_cells[i, j]} not ok"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color=_text_colour(values[i, j], metric, limits))
    _ticks(ax, grid, a, b)
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def _text_colour(value: float, metric: str, limits) -> str:
    """Black on the bright end of viridis, white on the dark end."""
    vmin, vmax = limits
    rel = (value - vmin) / (vmax - vmin)
    bright = rel > 0.55 if metric not in LOWER_IS_BETTER else rel < 0.45
    return "black" if bright else "white"
