"""A halving search's rounds: every cell's mean CV score at each budget it reached, which went on, what it cost.

One line per cell of the grid, from round 0 to the last round it trained in;
the cells of the last round stand out, the best of them is starred, and the
title says what the search trained against the exhaustive grid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gridflow.logs import job_log
from gridflow.report.figures import style
from gridflow.results.grammar import OK, mean_column, read_summary
from gridflow.spec.search import without_budget


def cell_paths(table) -> dict[str, tuple[list[int], list[float]]]:
    """Each grid cell's (epochs, mean CV score) per round it trained in and stayed ok, in round order."""
    paths: dict[str, tuple[list[int], list[float]]] = {}
    for _, row in table.sort_values("iter").iterrows():
        epochs, scores = paths.setdefault(without_budget(row["cell"]), ([], []))
        if row["status"] == OK:
            epochs.append(int(row["n_resources"]))
            scores.append(float(row["score"]))
    return paths


def plot_rounds(*, summary_csv: str, best_json: str, metric: str, outputs: Sequence[str], log_path: str) -> None:
    """Draw the rounds of a halving search (PNG and SVG): the body of rule plot_rounds."""
    with job_log(log_path) as log, style.styled():
        table = read_summary(summary_csv).assign(score=lambda t: t[mean_column(metric)])
        best = json.loads(Path(best_json).read_text())
        search = best["search"]
        last = table["iter"].max()
        fig = style.new_figure(8.0, 4.8)
        ax = fig.add_subplot()
        for epochs, scores in cell_paths(table).values():
            reached_last = len(epochs) == last + 1
            colour, width = (style.CELL_COLOUR, 1.4) if reached_last else (style.MISSING_FACE, 0.8)
            ax.plot(epochs, scores, marker="o", markersize=3, color=colour, lw=width, zorder=2 if reached_last else 1)
        if best["cell"] is not None:
            top = table[table["cell"] == best["cell"]].iloc[0]
            ax.scatter([top["n_resources"]], [top["score"]], marker="*", s=220, color=style.STAR_COLOUR,
                       edgecolor="black", zorder=3, label="best cell of the last round")  # fmt: skip
            ax.legend(loc="lower right")
        budgets = [r["epochs"] for r in search["rounds"]]
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("epochs (the round's budget)")
        ax.set_ylabel(style.metric_label(metric))
        ax.grid(True)
        ax.set_title(style.wrap(search_sentence(search), fig.get_figwidth() - 0.8))
        style.save_figure(fig, outputs)
        log.info("drew %d rounds of %d cells", len(budgets), int(np.sum(table["iter"] == 0)))


def search_sentence(search: dict) -> str:
    """A halving search in words: its rounds, and what it trained against every cell for the last round's epochs."""
    rounds = search["rounds"]
    first, *rest = rounds
    epochs = "epoch" if first["epochs"] == 1 else "epochs"
    counts = ", ".join([f"{first['cells']} cells for {first['epochs']} {epochs}"] + [
        f"{r['cells']} for {r['epochs']}" for r in rest])  # fmt: skip
    trained, exhaustive = search["cell_epochs_trained"], search["cell_epochs_exhaustive"]
    share = trained / exhaustive if exhaustive else float("nan")
    return (
        f"successive halving (factor {search['factor']}): {counts}; trained {trained:,} cell-epochs, {share:.0%} of "
        f"the {exhaustive:,} of every cell for {rounds[-1]['epochs']} epochs"
    )
