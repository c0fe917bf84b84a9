"""Learning curves of the top-ranked cells: loss and accuracy (regression: MSE and MAE) per epoch.

Only the cross-validation models are drawn (training part and held-out fold);
the model trained for the test score stays out of every selection picture.
Lines are the mean over repetitions x folds, bands one standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow.logs import job_log
from gridflow.report.figures import style
from gridflow.results.arrays import CellArrays
from gridflow.results.grammar import OK, mean_column, rank_column, read_summary, std_column
from gridflow.results.history import mean_curve, read_cell
from gridflow.results.record import CellRecord
from gridflow.spec import grid as gridlib
from gridflow.spec.metrics import score_format
from gridflow.spec.search import without_budget

# The two panels per task, told apart by the curves the trainer recorded.
PANELS = {
    "accuracy": (("loss", "cross-entropy loss"), ("accuracy", "accuracy")),
    "mae": (("loss", "mean squared error\n(standardised label)"), ("mae", "mean absolute error\n(standardised label)")),
}
LINES = (("", "training", style.CELL_COLOUR), ("val_", "held-out fold", style.CONTRAST_COLOUR))


def top_cells(table: pd.DataFrame, n: int) -> list[str]:
    """The first ``n`` ok cells of the ranked summary; of a halving search, each grid cell once, at the last round
    it reached (its curves run through the rounds before)."""
    ok = table.loc[table["status"] == OK, "cell"]
    if "iter" in table:
        ok = ok[~ok.map(without_budget).duplicated()]
    return list(ok.head(n))


def plot_learning_curves(
    *, summary_csv: str, cells_dir: str, top: int, metric: str, outputs: Sequence[str], log_path: str
) -> None:
    """Draw the learning curves of the ``top`` best cells (PNG and SVG): the body of rule plot_learning_curves.

    A cell's files are in ``cells_dir``/<cell id>/ (a halving search's best went on over its rounds: its curves
    run through them all).
    """
    with job_log(log_path) as log, style.styled():
        table = read_summary(summary_csv)
        chosen = top_cells(table, top)
        fig = style.new_figure(8.5, 2.5 * max(1, len(chosen)) + 0.6)
        if not chosen:
            fig.text(0.5, 0.5, "no cell trained without diverging or failing", ha="center", color=style.BAD_COLOUR)
        else:
            handles = None
            rows = table.set_index("cell").loc[chosen]
            for subfig, (cell, row) in zip(np.atleast_1d(fig.subfigures(len(chosen), 1)), rows.iterrows()):
                record, arrays = read_cell(Path(cells_dir) / cell / "metrics.json")
                ax_row = subfig.subplots(1, 2)
                _draw_row(ax_row, record, arrays)
                values = ", ".join(f"{k}={v}" for k, v in gridlib.parse_cell_id(cell).items())
                spec = score_format(metric)
                score = f"{row[mean_column(metric)]:{spec}} ± {row[std_column(metric)]:{spec}}"
                subfig.suptitle(
                    f"#{int(row[rank_column(metric)])}  {values}   ({style.metric_label(metric)} {score})", fontsize=9
                )
                handles = handles or ax_row[0].get_legend_handles_labels()
            for ax in ax_row:
                ax.set_xlabel("epoch")
            fig.legend(*handles, loc="outside lower center", ncols=2)
        fig.suptitle(f"learning curves of the {len(chosen)} best cell(s): mean ± std over repetitions × folds")
        style.save_figure(fig, outputs)
        log.info("wrote %s for %s", ", ".join(outputs), chosen)


def _draw_row(ax_row, record: CellRecord, arrays: CellArrays) -> None:
    panels = PANELS["accuracy" if "accuracy" in arrays.history_keys else "mae"]
    for ax, (key, label) in zip(ax_row, panels):
        for prefix, name, colour in LINES:
            mean, std = mean_curve(record, arrays, prefix + key)
            epochs = np.arange(1, len(mean) + 1)
            ax.plot(epochs, mean, color=colour, label=name, lw=1.6)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
        ax.set_ylabel(label)
        ax.grid(True)
        ax.xaxis.get_major_locator().set_params(integer=True)
