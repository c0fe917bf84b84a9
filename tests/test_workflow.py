"""The real workflow, run with `python -m snakemake` on a tiny grid in temporary folders."""

import base64
import copy
import json
import re
import struct

import pandas as pd
import pytest
from conftest import TINY_CONFIG, comparable_summary, jobs_run, planned_jobs, snakemake, write_config

from gridflow.results.history import read_cell
from gridflow.results.record import read_record

# Jobs that follow a new summary of the tiny grid: 3 axis pairs x 2 heatmap flavours, 3 axes, curves, cost, tables,
# the importance table and figure, the TensorBoard export.
AFTER_SUMMARY = {"plot_heatmap": 6, "plot_marginal_effect": 3, "plot_learning_curves": 1, "plot_cost": 1,
                 "tables": 1, "importance": 1, "plot_importance": 1, "export_tensorboard": 1, "all": 1}  # fmt: skip
PAIRS = ["batch_size__hidden_units", "batch_size__learning_rate", "hidden_units__learning_rate"]
AXES = ["batch_size", "hidden_units", "learning_rate"]


def summary(workdir):
    return pd.read_csv(workdir / "results/summary.csv")


def test_first_run_executes_every_job_once(finished):
    workdir, proc = finished
    assert jobs_run(proc) == {"split_data": 1, "train_cell": 4, "summarize": 1, **AFTER_SUMMARY}
    assert not (workdir / ".snakemake/gridflow/kept-cells").exists()  # a local run's cells keep no copies


def test_summary_has_one_ranked_row_per_cell(finished):
    table = summary(finished[0])
    assert len(table) == 4
    assert sorted(table["param_hidden_units"]) == [4, 4, 8, 8]
    assert set(table["param_learning_rate"]) == {0.05, 0.5}
    for column in ["mean_test_accuracy", "mean_holdout_accuracy", "mean_test_roc_auc", "mean_test_f1"]:
        assert table[column].between(0.5, 1.0).all(), column
    assert (table["mean_test_loss"] > 0).all()
    rank = table["rank_test_accuracy"]
    assert rank.is_monotonic_increasing and rank.iloc[0] == 1
    assert (table["status"] == "ok").all()
    assert table["mean_test_accuracy"].iloc[0] == table["mean_test_accuracy"].max()
    # Two repetitions x three folds, each split the mean's part.
    splits = table.filter(regex=r"^split\d+_test_accuracy$")
    assert splits.shape[1] == 6
    pd.testing.assert_series_equal(splits.mean(axis=1), table["mean_test_accuracy"], check_names=False)
    assert table["tied_with_best"].iloc[0] and table["p_vs_best"].iloc[0] == 1.0


def test_best_json_is_the_top_ranked_row(finished):
    table = summary(finished[0])
    best = json.loads((finished[0] / "results/best.json").read_text())
    top = table.iloc[0]
    assert best["cell"] == top["cell"]
    assert best["params"] == {"batch_size": 32, "hidden_units": int(top["param_hidden_units"]),
                              "learning_rate": float(top["param_learning_rate"])}  # fmt: skip
    assert best["cv"]["accuracy"]["mean"] == pytest.approx(top["mean_test_accuracy"])
    assert best["holdout"]["roc_auc"]["mean"] == pytest.approx(top["mean_holdout_roc_auc"])
    assert best["n_tied"] == table["tied_with_best"].sum() and best["n_cells"] == 4
    assert best["baseline"]["cv"]["accuracy"]["mean"] < best["cv"]["accuracy"]["mean"]


def test_each_cell_trained_every_repetition_and_fold(finished):
    cells = sorted((finished[0] / "results/cells").rglob("metrics.json"))
    assert len(cells) == 4
    record = read_record(cells[0])
    assert len(record.models) == 2 * (3 + 1)
    assert {m.role for m in record.models} == {"cv", "test"}
    assert record.settings["training"]["epochs"] == 3


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def figure_names(workdir):
    return sorted(str(p.relative_to(workdir / "results/figures")) for p in (workdir / "results/figures").rglob("*.*"))


def expected_figures(flavours=("marginal", "slice"), curves=True):
    names = [f"heatmaps/{f}/{pair}" for f in flavours for pair in PAIRS] + [f"effects/{axis}" for axis in AXES]
    names += ["cost", "importance"] + (["learning_curves"] if curves else [])
    return sorted(f"{name}.{ext}" for name in names for ext in ("png", "svg"))


def test_every_figure_as_readable_png_and_svg(finished):
    workdir = finished[0]
    assert figure_names(workdir) == expected_figures()
    for name in figure_names(workdir):
        path = workdir / "results/figures" / name
        if name.endswith(".png"):
            width, height = png_size(path)
            assert 300 <= width <= 2000 and 200 <= height <= 2000, name
        else:
            assert path.read_text().rstrip().endswith("</svg>"), name


def test_tables_show_every_cell_and_the_best_one(finished):
    workdir = finished[0]
    best = json.loads((workdir / "results/best.json").read_text())
    page = (workdir / "results/tables/summary.html").read_text()
    assert page.count('<tr class="ok">') == 4
    assert f"{best['cv']['accuracy']['mean']:.3f} ± {best['cv']['accuracy']['std']:.3f}" in page
    page = (workdir / "results/tables/best_cell.html").read_text()
    assert best["cell"] in page and "epochs: 3" in page and "curves_top: 3" in page


def test_every_rule_wrote_its_log(finished):
    logs = finished[0] / "results/logs"
    assert (logs / "split_data/split_data.log").read_text().count("training and") == 1
    assert len(list((logs / "train_cell").rglob("*.log"))) == 4
    assert "best:" in (logs / "summarize/summarize.log").read_text()


def test_tensorflow_messages_go_to_cell_logs_not_the_console(finished):
    workdir, proc = finished
    assert not re.findall(r"^[IWEF]\d{4} .*$", proc.stderr, flags=re.M)  # absl's format: I1128 ..., E0000 ...
    logs = [p.read_text() for p in (workdir / "results/logs/train_cell").rglob("*.log")]
    assert any(re.search(r"^[IWEF]\d{4} ", text, flags=re.M) for text in logs)  # TensorFlow's start-up lines
    assert all(re.search(r"cell \S+: ok in [\d.]+ s", text) for text in logs)  # the log itself stays whole


def test_second_run_has_nothing_to_do(copy_of_finished):
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert sum(jobs_run(proc).values()) == 0
    assert "Nothing to be done" in proc.stderr


def test_adding_a_value_trains_only_the_new_cells(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["grid"]["learning_rate"].append(0.2)
    write_config(copy_of_finished, config)
    before = summary(copy_of_finished).set_index("cell")
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert jobs_run(proc) == {"train_cell": 2, "summarize": 1, **AFTER_SUMMARY}
    after = summary(copy_of_finished).set_index("cell")
    assert len(after) == 6
    pd.testing.assert_series_equal(after.loc[before.index, "mean_test_accuracy"], before["mean_test_accuracy"])
    export = (copy_of_finished / "results/logs/export_tensorboard/export_tensorboard.log").read_text()
    assert "2 written, 4 unchanged, 0 removed" in export  # only the new cells' runs


def test_removing_a_value_retrains_nothing(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["grid"]["learning_rate"] = [0.05]
    write_config(copy_of_finished, config)
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert jobs_run(proc) == {"summarize": 1, **AFTER_SUMMARY}
    assert len(summary(copy_of_finished)) == 2
    runs = sorted(p.name for p in (copy_of_finished / "results/tensorboard").iterdir() if p.is_dir())
    assert runs == sorted(c.replace("/", ",") for c in summary(copy_of_finished)["cell"])  # removed cells' runs too


def test_figure_settings_redraw_without_retraining(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["figures"] = {"heatmaps": ["marginal"], "curves_top": 1}
    write_config(copy_of_finished, config)
    before = summary(copy_of_finished)
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert jobs_run(proc) == {"plot_learning_curves": 1, "tables": 1, "all": 1}
    pd.testing.assert_frame_equal(summary(copy_of_finished), before)
    assert figure_names(copy_of_finished) == expected_figures(flavours=("marginal",))  # old slices removed
    assert "gridflow: removed results/figures/heatmaps/slice/" in proc.stdout + proc.stderr
    log = (copy_of_finished / "results/logs/plot_learning_curves/plot_learning_curves.log").read_text()
    assert log.rstrip().endswith(f"for ['{before['cell'][0]}']")


def test_report_is_one_self_contained_file_with_tables_and_every_figure(copy_of_finished):
    workdir = copy_of_finished
    snakemake(workdir, "--report", "results/report.html")
    page = (workdir / "results/report.html").read_text()
    assert not re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?!data:)', page)  # nothing fetched
    start = page.index("var results = {") + len("var results = ")  # the report's table of embedded files
    results, _ = json.JSONDecoder().raw_decode(page, start)
    embedded = {path: base64.b64decode(entry["data_uri"].split("base64,", 1)[1]) for path, entry in results.items()}
    pngs = sorted(p.removeprefix("results/figures/") for p in embedded if p.endswith(".png"))
    assert pngs == [name for name in expected_figures() if name.endswith(".png")]
    for path, data in embedded.items():
        assert data == (workdir / path).read_bytes(), path
    assert embedded["results/tables/summary.html"].decode().count('<tr class="ok">') == 4
    assert set(embedded) - {f"results/figures/{p}" for p in pngs} == {
        "results/summary.csv", "results/importance.csv", "results/tables/summary.html",
        "results/tables/best_cell.html"}  # fmt: skip
    captions = {path: entry["caption"] for path, entry in results.items()}
    assert "every other axis held at the best cell" in captions[f"results/figures/heatmaps/slice/{PAIRS[0]}.png"]
    assert "the mean over them" in captions[f"results/figures/heatmaps/marginal/{PAIRS[0]}.png"]
    assert all("for 3 epochs" in captions[f"results/figures/{name}"] for name in pngs)


def test_changing_epochs_retrains_every_cell(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["training"]["epochs"] = 2
    write_config(copy_of_finished, config)
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert jobs_run(proc)["train_cell"] == 4 and "split_data" not in jobs_run(proc)
    record, arrays = read_cell(next((copy_of_finished / "results/cells").rglob("metrics.json")))
    assert arrays.history.shape[-1] == 2 and all(m.epochs_run == 2 for m in record.models)


def test_changing_the_split_redoes_split_and_cells(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["split"] = {"seed": 7}
    write_config(copy_of_finished, config)
    proc = snakemake(copy_of_finished, "--cores", "2", "--dry-run")
    planned = planned_jobs(proc)
    assert planned["split_data"] == 1 and planned["train_cell"] == 4


def test_batches_cores_and_job_order_give_the_summary_of_one_run(finished, tmp_path):
    """The recipe for huge grids (docs/scale.md): --batch summarize=i/n, one batch after another, on any cores."""
    write_config(tmp_path, TINY_CONFIG)
    first = snakemake(tmp_path, "--cores", "1", "--batch", "summarize=1/2")
    # Batch 1 is the first half of summarize's inputs: the cells' metrics files, then the split's file.
    assert jobs_run(first) == {"split_data": 1, "train_cell": 3}
    assert not (tmp_path / "results/summary.csv").exists()
    last = snakemake(tmp_path, "--cores", "2", "--batch", "summarize=2/2")
    assert jobs_run(last) == {"train_cell": 1, "summarize": 1, **AFTER_SUMMARY}
    pd.testing.assert_frame_equal(comparable_summary(finished[0]), comparable_summary(tmp_path))


def test_bad_config_stops_before_any_job_with_one_line(copy_of_finished):
    config = copy.deepcopy(TINY_CONFIG)
    config["grid"]["dropout"] = [0.3, 0.30]
    write_config(copy_of_finished, config)
    before = {p: p.stat().st_mtime_ns for p in (copy_of_finished / "results").rglob("*")}
    proc = snakemake(copy_of_finished, "--cores", "2", check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert errors == ["gridflow: config error: config key 'grid.dropout' lists 0.3 twice; allowed: distinct values"]
    assert "Traceback" not in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in (copy_of_finished / "results").rglob("*")} == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"grid": {"learing_rate": [0.1]}}, "unknown grid axis 'learing_rate'; allowed axes: "),
        (
            {"dataset": {"source": "absent.csv", "target": "y"}},
            "'dataset.source' has value \"absent.csv\"; no such file",
        ),
        ({"training": {"cv_folds": 1}}, "'training.cv_folds' has value 1; allowed: 0 (one validation part) or >= 2"),
    ],
    ids=["typo-axis", "missing-file", "one-fold"],
)
def test_input_errors_reach_the_user_as_one_line(tmp_path, change, expected):
    write_config(tmp_path, change if "grid" in change else {**TINY_CONFIG, **change})
    proc = snakemake(tmp_path, "--cores", "2", check=False)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gridflow: config error: ")]
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_console_shows_cells_not_jobs_and_the_log_file_keeps_every_job(finished):
    from conftest import run_log

    _, proc = finished
    line = r"^gridflow: (\d+)/(\d+) cells trained \((\d+) failed, (\d+) diverged\), .* elapsed"
    progress = re.findall(line, proc.stderr, flags=re.M)
    assert progress == [(str(k), "4", "0", "0") for k in range(1, 5)]
    assert "about" in proc.stderr.split("gridflow: 2/4", 1)[1].splitlines()[0]  # time left, once a rate is known
    assert len(proc.stderr.splitlines()) <= 40
    assert "Finished jobid" not in proc.stderr
    assert len(re.findall(r"^localrule train_cell:|^rule train_cell:", run_log(proc), flags=re.M)) == 4


def test_tensorboard_runs_read_back_with_hparams_and_curves(finished):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata

    workdir = finished[0]
    table = summary(workdir).set_index("cell")
    logdir = workdir / "results/tensorboard"
    root = EventAccumulator(str(logdir), size_guidance={"tensors": 0}).Reload()
    experiment = metadata.parse_experiment_plugin_data(
        root.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.EXPERIMENT_TAG]
    )
    domains = {h.name: [v.number_value for v in h.domain_discrete.values] for h in experiment.hparam_infos}
    assert domains == {"batch_size": [32], "hidden_units": [4, 8], "learning_rate": [0.05, 0.5]}
    assert {m.name.tag for m in experiment.metric_infos} >= {"cv/accuracy", "holdout/accuracy", "cv/loss"}
    for cell, row in table.iterrows():
        run = EventAccumulator(str(logdir / cell.replace("/", ",")), size_guidance={"tensors": 0}).Reload()
        start = metadata.parse_session_start_info_plugin_data(
            run.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
        )
        assert start.hparams["hidden_units"].number_value == row["param_hidden_units"]
        (cv,) = run.Tensors("cv/accuracy")
        assert cv.tensor_proto.float_val[0] == pytest.approx(row["mean_test_accuracy"], rel=1e-6)
        (holdout,) = run.Tensors("holdout/accuracy")
        assert holdout.tensor_proto.float_val[0] == pytest.approx(row["mean_holdout_accuracy"], rel=1e-6)
        assert [e.step for e in run.Tensors("epoch/val_loss")] == [0, 1, 2]  # three epochs
