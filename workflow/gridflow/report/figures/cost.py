"""The cost side: each cell's score against its training time and its size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridflow.logs import job_log
from gridflow.report.figures import style
from gridflow.results.grammar import mean_column, read_summary
from gridflow.results.record import LOOP_SOURCES

# How a cell's fit seconds were measured, as a marker: the fused loop run alone
# (built by an earlier cell), the fused loop including building it (trace and
# compile), or model.fit per model.
TIMING_KINDS = (
    (
        "memory",
        "fused loop, built earlier",
        dict(marker="o", facecolor=style.CELL_COLOUR, edgecolor=style.CELL_COLOUR),
    ),
    ("disk", "fused loop loaded from the disk cache", dict(marker="D", facecolor="none", edgecolor=style.CELL_COLOUR)),
    ("compiled", "fused loop incl. building it", dict(marker="o", facecolor="none", edgecolor=style.CELL_COLOUR)),
    ("fit", "model.fit", dict(marker="s", facecolor=style.CONTRAST_COLOUR, edgecolor=style.CONTRAST_COLOUR)),
    ("unknown", "not recorded (older gridflow)", dict(marker="^", facecolor="#999999", edgecolor="#999999")),
)


def timing_kind(row: pd.Series) -> str:
    """Which of TIMING_KINDS a summary row's fit_seconds is."""
    if row["trainer"] == "fit":
        return "fit"
    source = row.get("loop_source")
    return source if source in LOOP_SOURCES else "unknown"


def plot_cost(*, summary_csv: str, metric: str, outputs: Sequence[str], log_path: str) -> None:
    """Draw score vs fit seconds and vs parameter count per cell (PNG and SVG): the body of rule plot_cost."""
    with job_log(log_path) as log, style.styled():
        table = read_summary(summary_csv)
        ok = table[style.ok_cells(table, metric)]
        kinds = ok.apply(timing_kind, axis=1) if len(ok) else pd.Series(dtype=str)
        fig = style.new_figure(9.0, 4.0)
        ax_time, ax_size = fig.subplots(1, 2, sharey=True)
        for kind, label, look in TIMING_KINDS:
            part = ok[kinds == kind]
            if len(part):
                ax_time.scatter(part["fit_seconds"], part[mean_column(metric)], s=22, label=label, **look)
        ax_size.scatter(ok["n_params"], ok[mean_column(metric)], s=22, color=style.CELL_COLOUR, alpha=0.6, lw=0)
        if len(ok):
            top = ok.iloc[0]
            for ax, x in ((ax_time, top["fit_seconds"]), (ax_size, top["n_params"])):
                ax.scatter([x], [top[mean_column(metric)]], marker="*", s=180, color=style.STAR_COLOUR,
                           edgecolor="black", zorder=3, label="best cell" if ax is ax_time else None)  # fmt: skip
        _count_scale(ax_time, ok["fit_seconds"])
        _count_scale(ax_size, ok["n_params"])
        ax_time.set_xlabel("seconds to train the cell's models")
        ax_size.set_xlabel("parameters per model")
        ax_time.set_ylabel(style.metric_label(metric))
        for ax in (ax_time, ax_size):
            ax.grid(True)
        left_out = len(table) - len(ok)
        fig.suptitle(
            f"cost of {len(ok)} cell(s)" + (f"; {left_out} diverged, failed or missing not shown" if left_out else "")
        )
        fig.legend(loc="outside lower center", ncols=4)
        style.save_figure(fig, outputs)
        log.info("wrote %s", ", ".join(outputs))


def _count_scale(ax, values: pd.Series) -> None:
    """Log x axis with plain labels when the values span more than a decade, else linear."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() > 10 * values.min():
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
