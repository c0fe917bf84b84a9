"""Every model's scores, computed from what it stored (models.npz) and the labels of the rows it was scored on.

Scoring lives here, downstream of training, so that another ranking metric or
a metric added to gridflow later is one summary away, never a retrain.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from gridflow.data.split import Split, load_split
from gridflow.io import file_digest
from gridflow.results.arrays import CellArrays, read_arrays
from gridflow.results.grammar import OK
from gridflow.results.record import CellRecord, ModelRecord, arrays_path, read_record
from gridflow.results.scoring import score_outputs

# From this many cells on, a summary scores them in several processes (a 100,000-cell grid: a minute and a half
# in one); below it, starting processes would cost more than they save.
PARALLEL_FROM = 5_000


@dataclass(frozen=True)
class ScoredCell:
    """A cell's record and every model's scores (None for a model that diverged), in the record's order."""

    record: CellRecord
    scores: list[dict[str, float] | None]

    def scored(self, role: str) -> list[tuple[ModelRecord, dict[str, float] | None]]:
        """The models of a role (``cv`` or ``test``) with their scores."""
        return [(m, s) for m, s in zip(self.record.models, self.scores) if m.role == role]


def model_scores(record: CellRecord, arrays: CellArrays, split: Split) -> list[dict[str, float] | None]:
    """Every metric of the split's task for each model of the record, from its stored outputs."""
    return [
        score_outputs(split.task, split.eval_labels(model.fold), arrays.predictions(i)) if model.status == OK else None
        for i, model in enumerate(record.models)
    ]


def score_cells(metric_paths: Sequence[str], split_path: str, *, processes: int = 0) -> list[ScoredCell]:
    """Read every cell (metrics.json and models.npz) and score its models on the split they trained on, in
    ``processes`` processes for a grid of PARALLEL_FROM cells or more (in this one otherwise).

    Raises
    ------
    ValueError
        If a cell was trained on another split than ``split_path`` holds (a stale cell must never be scored).
    """
    if processes < 2 or len(metric_paths) < PARALLEL_FROM:
        return _score_cells(metric_paths, split_path)
    size = -(-len(metric_paths) // processes)
    chunks = [list(metric_paths[start : start + size]) for start in range(0, len(metric_paths), size)]
    # spawn, never fork: Snakemake's process holds threads and locks mid-use
    with ProcessPoolExecutor(len(chunks), mp_context=get_context("spawn")) as pool:
        return [cell for part in pool.map(_score_cells, chunks, [split_path] * len(chunks)) for cell in part]


def _score_cells(metric_paths: Sequence[str], split_path: str) -> list[ScoredCell]:
    split, digest = load_split(split_path), file_digest(split_path)
    cells = []
    for path in metric_paths:
        record = read_record(path)
        if record.split_digest != digest:
            raise ValueError(
                f"cell {record.cell} was trained on another split than {split_path}; run the workflow again to "
                "retrain it (a split newer than the cell's files retrains it)"
            )
        cells.append(ScoredCell(record, model_scores(record, read_arrays(arrays_path(path), histories=False), split)))
    return cells
