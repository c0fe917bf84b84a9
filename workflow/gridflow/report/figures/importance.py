"""Which axes matter: each term's share of the variance of the cell scores, with its interval.

One bar per main effect and per pair of axes (results/importance.csv), the
bootstrap interval over the folds as an error bar, and a tick at the share
fold noise alone would give the term: a bar that does not clear its tick is
no evidence of an effect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridflow.logs import job_log
from gridflow.report.figures import style


def plot_importance(*, importance_csv: str, metric: str, outputs: Sequence[str], log_path: str) -> None:
    """Draw the importance figure (PNG and SVG): the body of rule plot_importance."""
    with job_log(log_path) as log, style.styled():
        terms = pd.read_csv(importance_csv, keep_default_na=False, na_values=[""])
        fig = style.new_figure(6.4, 1.0 + 0.32 * max(len(terms), 3))
        ax = fig.add_subplot()
        if terms.empty:
            ax.text(0.5, 0.5, "fewer than 2 complete cells: nothing to decompose", ha="center", va="center")
            ax.set_axis_off()
        else:
            _draw(ax, terms)
        ax.set_title(style.wrap(_title(terms, metric), 6.0))
        style.save_figure(fig, outputs)
        log.info("drew %d terms", len(terms))


KIND_COLOURS = {"main": style.CELL_COLOUR, "interaction": style.CONTRAST_COLOUR, "residual": style.MISSING_FACE}
KIND_LABELS = {"main": "one axis", "interaction": "pair of axes", "residual": "higher-order"}


def _draw(ax, terms: pd.DataFrame) -> None:
    from matplotlib.patches import Patch

    y = np.arange(len(terms))[::-1]
    share = terms["share"].to_numpy(float)
    low, high = terms["share_low"].to_numpy(float), terms["share_high"].to_numpy(float)
    ax.barh(y, share, color=[KIND_COLOURS[k] for k in terms["kind"]], height=0.7)
    handles = [Patch(color=KIND_COLOURS[k], label=KIND_LABELS[k]) for k in KIND_COLOURS if k in set(terms["kind"])]
    has_interval = np.isfinite(low) & np.isfinite(high)
    errors = np.vstack([share - low, high - share])[:, has_interval].clip(min=0)
    ax.errorbar(share[has_interval], y[has_interval], xerr=errors, fmt="none", ecolor=style.FRAME_COLOUR, lw=1)
    noise = terms["noise_share"].to_numpy(float)
    if np.isfinite(noise).any():
        handles.append(ax.scatter(noise, y, marker="|", s=120, color=style.BAD_COLOUR, label="fold noise alone"))
    ax.legend(handles=handles, loc="lower right")
    ax.set_yticks(y, terms["term"])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the variance between cells")
    ax.grid(axis="x")


def _title(terms: pd.DataFrame, metric: str) -> str:
    if terms.empty:
        return f"What {style.metric_label(metric)} depends on"
    first = terms.iloc[0]
    left_out = json.loads(first["left_out"])
    n_folds = int(first["n_folds"])
    spread = f"intervals over the {n_folds} folds" if n_folds > 1 else "no intervals: one validation part"
    about = f"{int(first['n_cells'])} cells, {spread}"
    if left_out:
        dropped = "; ".join(f"{axis} {', '.join(map(str, values))}" for axis, values in left_out.items())
        about += f"; left out to complete the grid: {dropped}"
    return f"What {style.metric_label(metric)} depends on ({about})"
