"""The run's cells as TensorBoard runs, for its HParams dashboard: the body of rule export_tensorboard.

Each cell becomes one run: its axis values as hparams, the CV and holdout
mean of every metric as scalars, and the mean learning curves of its CV
models per epoch. Only cells whose run changed are rewritten (gridflow.report.hparams).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from gridflow.logs import job_log
from gridflow.report.hparams import CellRun, write_runs
from gridflow.results.arrays import CellArrays
from gridflow.results.grammar import CV, HOLDOUT, OK, mean_column, read_summary
from gridflow.results.history import mean_curve, read_cell
from gridflow.results.record import CellRecord
from gridflow.spec.metrics import task_metrics

# The summary's column part -> the tag prefix in TensorBoard.
PARTS = {CV: "cv", HOLDOUT: "holdout"}


# Longest run folder name: file systems allow 255 bytes, a cell id of many long axes can be longer.
MAX_NAME_BYTES = 200


def run_name(cell: str) -> str:
    """A cell id as one folder name ("a~1/b~2" would be nested runs to TensorBoard); a too long one is cut and
    told apart by a hash of the whole id (the run's hparams still hold every value)."""
    name = cell.replace("/", ",")
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(cell.encode()).hexdigest()[:16]
    return name.encode()[: MAX_NAME_BYTES - 18].decode(errors="ignore") + "--" + digest


def metric_tags(metric: str) -> dict[str, str]:
    """Every scalar the dashboard shows as a column (the metrics of ``metric``'s task), with its display name."""
    return {
        f"{tag}/{m}": f"{'CV' if tag == 'cv' else 'holdout'} {m}"
        for tag in PARTS.values()
        for m in task_metrics(metric)
    }


def cell_run(row: pd.Series, record: CellRecord, arrays: CellArrays, metric: str) -> CellRun:
    """One cell's run: values from its metrics file, scores from its summary row.

    A failed or diverged cell is a failed session without scores, as the summary and figures count it (a
    diverged cell's surviving models are not its result); its learning curves stay, to see where it broke.
    """
    ok = record.status == OK
    scalars = {
        f"{tag}/{m}": float(row[mean_column(m, part)])
        for part, tag in PARTS.items()
        for m in task_metrics(metric)
        if ok and not math.isnan(float(row[mean_column(m, part)]))
    }
    curves = {f"epoch/{key}": mean_curve(record, arrays, key)[0].tolist() for key in arrays.history_keys}
    return CellRun(
        cell=run_name(record.cell),
        params=dict(record.params),
        scalars=scalars,
        curves={tag: values for tag, values in curves.items() if values},
        succeeded=ok,
    )


def write_tensorboard(
    *,
    summary_csv: str,
    cells_dir: str,
    grid: Mapping[str, Sequence],
    metric: str,
    output: str,
    log_path: str,
) -> None:
    """Write (or refresh) the TensorBoard folder holding ``output``, its experiment config file: a run for each
    cell of the summary, read from ``cells_dir``/<cell>/."""
    with job_log(log_path) as log:
        table = read_summary(summary_csv).set_index("cell")
        runs = []
        for cell, row in table.iterrows():
            record, arrays = read_cell(Path(cells_dir) / cell / "metrics.json")
            runs.append(cell_run(row, record, arrays, metric))
        report = write_runs(runs, domains=grid, metrics=metric_tags(metric), logdir=Path(output).parent)
        log.info("TensorBoard runs in %s: %s", Path(output).parent, report)
