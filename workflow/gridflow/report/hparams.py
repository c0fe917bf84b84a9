"""Write a grid search's cells as TensorBoard runs for the HParams dashboard, without TensorFlow.

Runs inside Snakemake's main process, where importing TensorFlow would cost seconds: events are
built from the ``tensorboard`` package's protobufs and framed with its pure-Python record writer
(its ``EventFileWriter`` would import TensorFlow and puts a timestamp and hostname in the file name).

Layout of ``logdir``::

    events.out.tfevents.gridflow        the experiment: hparam domains and metric tags
    <cell>/events.out.tfevents.gridflow one run per cell: its values, final scalars, per-epoch curves
    <cell>/.gridflow-run                marks the folder as written here, so it may be removed

Event bytes are deterministic (fixed wall time, fixed file name): a cell whose bytes would not
change is left alone, so a running TensorBoard and file mtimes see only real changes.
"""

from __future__ import annotations

import io
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2, summary_v2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.summary.writer.record_writer import RecordWriter

EVENT_FILE = "events.out.tfevents.gridflow"
MARKER = ".gridflow-run"
# Neither contains "tfevents": TensorBoard must never load a half-written temporary file.
_TMP_PREFIX = ".gridflow-"
_TMP_SUFFIX = ".tmp"
# Any fixed value would do; it only has to be free of the clock so that bytes are reproducible.
_WALL_TIME = 0.0

Value = str | int | float | bool


@dataclass(frozen=True)
class CellRun:
    """One grid cell as a TensorBoard run."""

    cell: str  # run name and folder name, e.g. "hidden_units~8,learning_rate~0.1"
    params: Mapping[str, Value]  # the cell's axis values
    scalars: Mapping[str, float]  # final metrics, written at step 0; NaN values are skipped
    curves: Mapping[str, Sequence[float]]  # per-epoch values, written at steps 0..n-1; NaN points are skipped
    succeeded: bool = True  # False: the dashboard's status column says failure (a failed or diverged cell)


@dataclass(frozen=True)
class WriteReport:
    """What ``write_runs`` did to each cell's folder."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]

    def __str__(self) -> str:
        return f"{len(self.written)} written, {len(self.unchanged)} unchanged, {len(self.removed)} removed"


def write_runs(
    runs: Sequence[CellRun],
    *,
    domains: Mapping[str, Sequence[Value]],
    metrics: Sequence[str] | Mapping[str, str],
    logdir: str | Path,
) -> WriteReport:
    """Write the experiment config and one run per cell under ``logdir``; remove runs of cells no longer listed.

    ``metrics`` lists the scalar tags the dashboard shows as columns; a mapping gives them display names.
    """
    logdir = Path(logdir)
    _check_cells(runs)
    logdir.mkdir(parents=True, exist_ok=True)
    _remove_temporaries(logdir)
    kinds = axis_kinds(domains, runs)
    _write_atomically(logdir / EVENT_FILE, experiment_bytes(domains, metrics, kinds))
    written, unchanged = [], []
    for run in runs:
        changed = _write_run(logdir / run.cell, run_bytes(run, kinds))
        (written if changed else unchanged).append(run.cell)
    removed = _remove_stale_runs(logdir, keep={run.cell for run in runs})
    return WriteReport(written=tuple(written), unchanged=tuple(unchanged), removed=tuple(removed))


# ---- hparam values: one type per axis ----------------------------------------------------------


def axis_kinds(domains: Mapping[str, Sequence[Value]], runs: Sequence[CellRun]) -> dict[str, type]:
    """The type each axis is written as: ``bool``, ``float`` or ``str``.

    An axis whose values mix types (say 8 and "auto") becomes ``str`` throughout, in the domain and
    in every cell, so that the dashboard can still filter and sort it.
    """
    values: dict[str, list[Value]] = {axis: list(axis_values) for axis, axis_values in domains.items()}
    for run in runs:
        for axis, value in run.params.items():
            values.setdefault(axis, []).append(value)
    return {axis: _kind(axis_values) for axis, axis_values in values.items()}


def _kind(values: Iterable[Value]) -> type:
    # bool before int: True is an int to isinstance but not to the dashboard.
    kinds = {bool if isinstance(v, bool) else float if isinstance(v, int | float) else str for v in _plain(values)}
    return kinds.pop() if len(kinds) == 1 else str


def _plain(values: Iterable[Value]) -> list[Value]:
    """Numpy scalars (as read from YAML via pandas, say) as Python scalars."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def _as_kind(value: Value, kind: type) -> Value:
    (value,) = _plain([value])
    return str(value) if kind is str else kind(value)


# ---- event bytes --------------------------------------------------------------------------------


def experiment_bytes(
    domains: Mapping[str, Sequence[Value]], metrics: Sequence[str] | Mapping[str, str], kinds: Mapping[str, type]
) -> bytes:
    """The root event file: a discrete domain per axis and the metric tags with display names."""
    names = dict(metrics) if isinstance(metrics, Mapping) else {tag: tag for tag in metrics}
    hparams = [
        summary_v2.HParam(
            axis, summary_v2.Discrete(sorted({_as_kind(v, kinds[axis]) for v in values}), dtype=kinds[axis])
        )
        for axis, values in domains.items()
    ]
    config = [summary_v2.Metric(tag, display_name=name) for tag, name in names.items()]
    summary = summary_v2.hparams_config_pb(hparams, config, time_created_secs=_WALL_TIME)
    return _event_file([(0, summary)])


def run_bytes(run: CellRun, kinds: Mapping[str, type]) -> bytes:
    """A cell's event file: session start, curves, final scalars, session end."""
    overlap = set(run.scalars) & set(run.curves)
    if overlap:
        # The dashboard reads a tag's last value; one tag in both would make that ambiguous.
        raise ValueError(f"cell {run.cell!r}: tags both in scalars and curves: {sorted(overlap)}")
    values = {axis: _as_kind(value, kinds[axis]) for axis, value in run.params.items()}
    summaries = [(0, _in_key_order(summary_v2.hparams_pb(values, trial_id=run.cell, start_time_secs=_WALL_TIME)))]
    for tag, curve in run.curves.items():
        summaries += [(step, _scalar(tag, value)) for step, value in enumerate(curve) if not math.isnan(value)]
    summaries += [(0, _scalar(tag, value)) for tag, value in run.scalars.items() if not math.isnan(value)]
    summaries.append((0, _session_end(run.succeeded)))
    return _event_file(summaries)


def _in_key_order(summary: summary_pb2.Summary) -> summary_pb2.Summary:
    """The summary with its plugin data serialised deterministically: summary_v2 serialises the hparams map
    in whatever order protobuf keeps it, so the same values could give other bytes (and a needless rewrite)."""
    for value in summary.value:
        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
        value.metadata.plugin_data.content = data.SerializeToString(deterministic=True)
    return summary


def _scalar(tag: str, value: float) -> summary_pb2.Summary:
    """A scalar as TF2's tf.summary.scalar writes it: a float32 tensor. TensorBoard's default (Rust) data
    loader drops float64 scalars without a word; the Python loader would take them."""
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[float(value)]
    )
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, tensor=tensor, metadata=scalar_metadata.create_summary_metadata("", ""))
    return summary


def _session_end(succeeded: bool) -> summary_pb2.Summary:
    # summary_v2 has no session end; the dashboard shows its status column from it.
    status = api_pb2.STATUS_SUCCESS if succeeded else api_pb2.STATUS_FAILURE
    end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=_WALL_TIME)
    data = plugin_data_pb2.HParamsPluginData(session_end_info=end)
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=hparams_metadata.SESSION_END_INFO_TAG,
        metadata=hparams_metadata.create_summary_metadata(data),
        tensor=hparams_metadata.NULL_TENSOR,
    )
    return summary


def _event_file(summaries: Sequence[tuple[int, summary_pb2.Summary]]) -> bytes:
    """Frame (step, summary) pairs as an event file (TFRecord), after the file version event readers expect."""
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    writer.write(event_pb2.Event(wall_time=_WALL_TIME, file_version="brain.Event:2").SerializeToString())
    for step, summary in summaries:
        event = event_pb2.Event(wall_time=_WALL_TIME, step=step, summary=summary)
        # deterministic=True: map fields (hparam values) serialise in key order, so bytes repeat.
        writer.write(event.SerializeToString(deterministic=True))
    return buffer.getvalue()


# ---- files --------------------------------------------------------------------------------------


def _check_cells(runs: Sequence[CellRun]) -> None:
    """Cells must be distinct plain folder names that cannot collide with our marker and temporaries."""
    cells = [run.cell for run in runs]
    bad = [c for c in cells if not c or c.startswith(".") or "/" in c or os.sep in c]
    if bad:
        raise ValueError(f"not usable as run folder names: {bad}")
    if len(set(cells)) != len(cells):
        raise ValueError(f"cells listed twice: {sorted({c for c in cells if cells.count(c) > 1})}")


def _write_run(folder: Path, data: bytes) -> bool:
    """Write a run's event file unless it already holds these bytes; returns whether it wrote."""
    event_file = folder / EVENT_FILE
    if (folder / MARKER).is_file() and event_file.is_file() and event_file.read_bytes() == data:
        return False
    folder.mkdir(exist_ok=True)
    # Marker first: a crash after it leaves a folder that the next call rewrites or removes, never orphans.
    _write_atomically(folder / MARKER, b"Written by gridflow.report.hparams; removed when its cell leaves the grid.\n")
    _write_atomically(event_file, data)
    return True


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside ``path`` under a name TensorBoard ignores, then rename over it."""
    tmp = path.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}{_TMP_SUFFIX}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale_runs(logdir: Path, keep: set[str]) -> list[str]:
    """Remove the runs this module wrote for cells not in ``keep``; other folders are not ours to touch."""
    removed = []
    for folder in sorted(p for p in logdir.iterdir() if p.is_dir() and p.name not in keep):
        if not (folder / MARKER).is_file():
            continue
        # Only our files: anything a user put beside them survives, and so does the folder then.
        (folder / EVENT_FILE).unlink(missing_ok=True)
        _remove_temporaries(folder)
        (folder / MARKER).unlink()
        if not any(folder.iterdir()):
            folder.rmdir()
        removed.append(folder.name)
    return removed


def _remove_temporaries(folder: Path) -> None:
    """Temporary files a crashed earlier call left in ``folder`` and its run folders."""
    for pattern in (f"{_TMP_PREFIX}*{_TMP_SUFFIX}", f"*/{_TMP_PREFIX}*{_TMP_SUFFIX}"):
        for tmp in folder.glob(pattern):
            tmp.unlink(missing_ok=True)
