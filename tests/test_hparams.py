"""gridflow.report.hparams: cells as TensorBoard runs, read back with TensorBoard's own readers and HParams backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from tensorboard import context
from tensorboard.backend.event_processing import event_accumulator, plugin_event_multiplexer
from tensorboard.backend.event_processing.data_provider import MultiplexerDataProvider
from tensorboard.compat.proto import types_pb2
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups, metadata
from tensorboard.util import tensor_util

from gridflow.report.hparams import EVENT_FILE, MARKER, CellRun, write_runs

NAN = float("nan")
DOMAINS = {"hidden_units": [4, 8], "learning_rate": [0.1, 0.01]}
METRICS = ["cv/accuracy", "holdout/accuracy"]


def cell(hidden_units: int, learning_rate: float, accuracy: float = 0.9, **kw) -> CellRun:
    """A cell with a final metric, a NaN metric and a loss curve with a NaN epoch."""
    return CellRun(
        cell=f"hidden_units={hidden_units}__learning_rate={learning_rate}",
        params={"hidden_units": hidden_units, "learning_rate": learning_rate},
        scalars=kw.get("scalars", {"cv/accuracy": accuracy, "holdout/accuracy": NAN}),
        curves=kw.get("curves", {"epoch/loss": [1.0, NAN, 0.25], "epoch/val_accuracy": [0.5, 0.75]}),
    )


GRID = [cell(4, 0.1, 0.91), cell(8, 0.1, 0.92), cell(4, 0.01, 0.93)]


def load(folder: Path) -> event_accumulator.EventAccumulator:
    """Every event of one run, none sampled away."""
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return accumulator


def hparams_content(folder: Path) -> dict[str, bytes]:
    return load(folder).PluginTagToContent(metadata.PLUGIN_NAME)


def scalar_series(folder: Path, tag: str) -> list[tuple[int, float]]:
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in load(folder).Tensors(tag)]


def experiment(logdir: Path) -> api_pb2.Experiment:
    return metadata.parse_experiment_plugin_data(hparams_content(logdir)[metadata.EXPERIMENT_TAG])


def domains_of(experiment_pb: api_pb2.Experiment) -> dict[str, tuple[int, list]]:
    """hparam name -> (data type, discrete values as Python values)."""
    return {
        info.name: (info.type, [getattr(v, v.WhichOneof("kind")) for v in info.domain_discrete.values])
        for info in experiment_pb.hparam_infos
    }


def start_info(folder: Path):
    return metadata.parse_session_start_info_plugin_data(hparams_content(folder)[metadata.SESSION_START_INFO_TAG])


def hparam_values(folder: Path) -> dict:
    return {name: getattr(v, v.WhichOneof("kind")) for name, v in start_info(folder).hparams.items()}


def snapshot(folder: Path) -> tuple[bytes, int]:
    path = folder / EVENT_FILE
    return path.read_bytes(), path.stat().st_mtime_ns


def age(logdir: Path) -> None:
    """Backdate every file, so that a rewrite shows in the mtime without sleeping."""
    for path in logdir.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(10**18, 10**18))


# ---- content ------------------------------------------------------------------------------------


def test_experiment_lists_discrete_domains_and_metric_tags(tmp_path):
    write_runs(
        GRID, domains=DOMAINS, metrics={"cv/accuracy": "CV accuracy", "holdout/accuracy": "holdout"}, logdir=tmp_path
    )
    pb = experiment(tmp_path)
    assert domains_of(pb) == {
        "hidden_units": (api_pb2.DATA_TYPE_FLOAT64, [4, 8]),
        "learning_rate": (api_pb2.DATA_TYPE_FLOAT64, [0.01, 0.1]),
    }
    assert [(m.name.tag, m.display_name) for m in pb.metric_infos] == [
        ("cv/accuracy", "CV accuracy"),
        ("holdout/accuracy", "holdout"),
    ]


def test_each_cell_is_a_run_with_its_values_scalars_and_curves(tmp_path):
    report = write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert sorted(report.written) == sorted(run.cell for run in GRID)
    folder = tmp_path / "hidden_units=8__learning_rate=0.1"
    assert [p.name for p in folder.iterdir() if "tfevents" in p.name] == [EVENT_FILE]
    assert start_info(folder).group_name == folder.name
    assert hparam_values(folder) == {"hidden_units": 8, "learning_rate": 0.1}
    end = metadata.parse_session_end_info_plugin_data(hparams_content(folder)[metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS
    assert scalar_series(folder, "cv/accuracy") == [(0, pytest.approx(0.92))]  # float32, as tf.summary writes
    assert scalar_series(folder, "epoch/loss") == [(0, 1.0), (2, 0.25)]  # the NaN epoch is skipped
    assert scalar_series(folder, "epoch/val_accuracy") == [(0, 0.5), (1, 0.75)]
    # TensorBoard's default data loader (Rust) shows float32 scalars only: a float64 one would vanish.
    assert {e.tensor_proto.dtype for e in load(folder).Tensors("cv/accuracy")} == {types_pb2.DT_FLOAT}
    assert "holdout/accuracy" not in load(folder).Tags()["tensors"]  # a NaN metric is not written


def test_a_cell_that_did_not_succeed_is_a_failed_session(tmp_path):
    broken = CellRun("units=8", {"hidden_units": 8, "learning_rate": 0.1}, {}, {"epoch/loss": [1.0]}, succeeded=False)
    write_runs([GRID[0], broken], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    statuses = {
        folder.name: metadata.parse_session_end_info_plugin_data(
            hparams_content(folder)[metadata.SESSION_END_INFO_TAG]
        ).status
        for folder in (tmp_path / GRID[0].cell, tmp_path / "units=8")
    }
    assert statuses == {GRID[0].cell: api_pb2.STATUS_SUCCESS, "units=8": api_pb2.STATUS_FAILURE}


def test_an_axis_of_mixed_types_is_strings_in_domain_and_cells(tmp_path):
    runs = [
        CellRun("units=8", {"units": 8, "flag": True}, {}, {}),
        CellRun("units=auto", {"units": "auto", "flag": False}, {}, {}),
    ]
    write_runs(runs, domains={"units": [8, "auto"], "flag": [True, False]}, metrics=[], logdir=tmp_path)
    assert domains_of(experiment(tmp_path)) == {
        "units": (api_pb2.DATA_TYPE_STRING, ["8", "auto"]),
        "flag": (api_pb2.DATA_TYPE_BOOL, [False, True]),
    }
    assert hparam_values(tmp_path / "units=8") == {"units": "8", "flag": True}
    assert hparam_values(tmp_path / "units=auto") == {"units": "auto", "flag": False}


def test_the_hparams_dashboard_backend_lists_every_cell_with_its_metrics(tmp_path):
    """Read the logdir the way the dashboard does: multiplexer, data provider, session groups handler."""
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    provider = MultiplexerDataProvider(multiplexer, str(tmp_path))
    backend = backend_context.Context(base_plugin.TBContext(logdir=str(tmp_path), data_provider=provider))
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=[api_pb2.STATUS_SUCCESS])
    response = list_session_groups.Handler(context.RequestContext(), backend, "", request).run()
    groups = {
        g.name: ({k: v.number_value for k, v in g.hparams.items()}, {m.name.tag: m.value for m in g.metric_values})
        for g in response.session_groups
    }
    # Metric values come back as float32 (what tf.summary writes and TensorBoard's fast loader reads).
    assert groups == {
        run.cell: (dict(run.params), {"cv/accuracy": pytest.approx(run.scalars["cv/accuracy"], rel=1e-6)})
        for run in GRID
    }


def test_event_bytes_do_not_depend_on_when_or_where_they_are_written(tmp_path):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path / "a")
    write_runs(GRID[::-1], domains=DOMAINS, metrics=METRICS, logdir=tmp_path / "b")
    for run in GRID:
        assert (tmp_path / "a" / run.cell / EVENT_FILE).read_bytes() == (
            tmp_path / "b" / run.cell / EVENT_FILE
        ).read_bytes()
    assert (tmp_path / "a" / EVENT_FILE).read_bytes() == (tmp_path / "b" / EVENT_FILE).read_bytes()


def test_event_bytes_are_the_same_in_every_process(tmp_path):
    """Protobuf serialises a map (a cell's hparams) in an order that changes from process to process; a grown
    grid, summarised in a new process, must not rewrite the runs of cells whose values are the same."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from gridflow.report.hparams import CellRun, write_runs; "
        "values = {'units': 8, 'lr': 0.1, 'act': 'relu', 'dropout': 0.3, 'batch': 16}; "
        "run = CellRun(cell='one', params=values, scalars={'cv/accuracy': 0.9}, curves={}); "
        "write_runs([run], domains={k: [v] for k, v in values.items()}, metrics=['cv/accuracy'], logdir=sys.argv[2])"
    )
    for name in "abcd":
        subprocess.run([sys.executable, "-c", script, str(ROOT / "workflow"), str(tmp_path / name)], check=True)
    assert len({(tmp_path / name / "one" / EVENT_FILE).read_bytes() for name in "abcd"}) == 1


# ---- incremental --------------------------------------------------------------------------------


def test_one_more_cell_writes_only_that_cell(tmp_path):
    write_runs(GRID[:2], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    age(tmp_path)
    before = {run.cell: snapshot(tmp_path / run.cell) for run in GRID[:2]}
    report = write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert report.written == (GRID[2].cell,)
    assert sorted(report.unchanged) == sorted(before)
    assert report.removed == ()
    assert {c: snapshot(tmp_path / c) for c in before} == before


def test_a_changed_scalar_rewrites_only_that_cell(tmp_path):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    age(tmp_path)
    before = {run.cell: snapshot(tmp_path / run.cell) for run in GRID}
    changed = [GRID[0], cell(8, 0.1, 0.5), GRID[2]]
    report = write_runs(changed, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert report.written == (GRID[1].cell,)
    assert scalar_series(tmp_path / GRID[1].cell, "cv/accuracy") == [(0, 0.5)]
    assert snapshot(tmp_path / GRID[1].cell) != before[GRID[1].cell]
    assert {c: snapshot(tmp_path / c) for c in (GRID[0].cell, GRID[2].cell)} == {
        c: before[c] for c in (GRID[0].cell, GRID[2].cell)
    }


def test_a_cell_left_out_is_removed_but_user_folders_stay(tmp_path):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    user_run = tmp_path / "my_own_run"
    user_run.mkdir()
    (user_run / "events.out.tfevents.123.host").write_bytes(b"not ours")
    (tmp_path / GRID[1].cell / "notes.txt").write_text("a user's file in one of our runs")
    report = write_runs([GRID[0]], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert sorted(report.removed) == sorted([GRID[1].cell, GRID[2].cell])
    assert not (tmp_path / GRID[2].cell).exists()
    # Only our files go: the folder holding a user's file stays, no longer a run.
    assert sorted(p.name for p in (tmp_path / GRID[1].cell).iterdir()) == ["notes.txt"]
    assert (user_run / "events.out.tfevents.123.host").read_bytes() == b"not ours"
    assert write_runs([], domains=DOMAINS, metrics=METRICS, logdir=tmp_path).removed == (GRID[0].cell,)


def test_the_experiment_is_rewritten_with_new_domains(tmp_path):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    runs = [*GRID, cell(16, 0.1)]
    write_runs(runs, domains={**DOMAINS, "hidden_units": [4, 8, 16]}, metrics=METRICS[:1], logdir=tmp_path)
    pb = experiment(tmp_path)
    assert domains_of(pb)["hidden_units"] == (api_pb2.DATA_TYPE_FLOAT64, [4, 8, 16])
    assert [m.name.tag for m in pb.metric_infos] == ["cv/accuracy"]


# ---- safety -------------------------------------------------------------------------------------


def leftovers(logdir: Path) -> list[Path]:
    return [p for p in logdir.rglob("*") if p.name.endswith(".tmp") or ("gridflow-" in p.name and p.name != MARKER)]


def test_no_temporary_files_are_left(tmp_path):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    write_runs([cell(4, 0.1, 0.5)], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([EVENT_FILE, cell(4, 0.1).cell])


def test_a_failed_write_keeps_the_previous_run(tmp_path, monkeypatch):
    write_runs(GRID, domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    before = (tmp_path / GRID[0].cell / EVENT_FILE).read_bytes()

    def failing_replace(src, dst):
        if Path(dst).name == EVENT_FILE and Path(dst).parent.name == GRID[0].cell:
            raise OSError("disk full")
        os.rename(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_runs([cell(4, 0.1, 0.5)], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)
    assert (tmp_path / GRID[0].cell / EVENT_FILE).read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", ".."])
def test_cell_names_must_be_plain_folder_names(tmp_path, name):
    with pytest.raises(ValueError, match="folder names"):
        write_runs([CellRun(name, {}, {}, {})], domains={}, metrics=[], logdir=tmp_path)


def test_a_tag_in_both_scalars_and_curves_is_refused(tmp_path):
    run = cell(4, 0.1, scalars={"epoch/loss": 0.1}, curves={"epoch/loss": [0.2]})
    with pytest.raises(ValueError, match="both in scalars and curves"):
        write_runs([run], domains=DOMAINS, metrics=METRICS, logdir=tmp_path)


def test_writing_does_not_import_tensorflow(tmp_path):
    """Snakemake's main process writes the runs: TensorFlow would cost it seconds."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT / "workflow")!r})
        from gridflow.report.hparams import CellRun, write_runs
        run = CellRun("a=1", {{"a": 1}}, {{"cv/accuracy": 0.5}}, {{"epoch/loss": [1.0, 0.5]}})
        write_runs([run], domains={{"a": [1]}}, metrics=["cv/accuracy"], logdir={str(tmp_path)!r})
        print("tensorflow" in sys.modules)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert scalar_series(tmp_path / "a=1", "cv/accuracy") == [(0, 0.5)]
    # Another process, another moment: the same bytes (no clock, host or pid in them).
    run = CellRun("a=1", {"a": 1}, {"cv/accuracy": 0.5}, {"epoch/loss": [1.0, 0.5]})
    write_runs([run], domains={"a": [1]}, metrics=["cv/accuracy"], logdir=tmp_path / "here")
    assert (tmp_path / "here/a=1" / EVENT_FILE).read_bytes() == (tmp_path / "a=1" / EVENT_FILE).read_bytes()
    assert (tmp_path / "here" / EVENT_FILE).read_bytes() == (tmp_path / EVENT_FILE).read_bytes()
