"""The metrics gridflow knows, per task: their names, which way is better and how they print.

Pure Python: the config check reads it while Snakemake parses.
"""

from __future__ import annotations

# The metrics of each task (dataset.task), the first its default ranking metric.
METRICS_BY_TASK = {
    "classification": ("accuracy", "loss", "roc_auc", "f1", "precision", "recall"),
    "regression": ("r2", "mse", "rmse", "mae"),
}


# Metrics where a smaller value is better.
LOWER_IS_BETTER = frozenset({"loss", "mse", "rmse", "mae"})


def task_of(metric: str) -> str:
    """The task whose metric ``metric`` is."""
    return next(task for task, metrics in METRICS_BY_TASK.items() if metric in metrics)


def score_format(metric: str) -> str:
    """How a score is printed: 3 decimals for classification's 0-1 scores, 4 significant digits for a
    regression score in the label's own units (which may be 1e-3 or 1e5)."""
    return ".3f" if task_of(metric) == "classification" else ".4g"


def task_metrics(metric: str) -> tuple[str, ...]:
    """Every metric of ``metric``'s task, in report order."""
    return METRICS_BY_TASK[task_of(metric)]
