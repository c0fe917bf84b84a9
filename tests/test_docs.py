"""Documentation that must say what the code does: defaults and README examples."""

import ast
import functools
import inspect
import json
import math
import re

import numpy as np
import pytest
import yaml
from conftest import ROOT

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
# Every section of the schema except the grid, which has no defaults.
SECTIONS = [name for name in SCHEMA["properties"] if name != "grid"]


def schema_defaults() -> dict:
    """(section, key) -> the schema's default, for every key that has one."""
    return {
        (section, key): spec["default"]
        for section in SECTIONS
        for key, spec in SCHEMA["properties"][section]["properties"].items()
        if "default" in spec
    }


def documented_defaults() -> dict:
    """(section, key) -> the default config/README.md's tables give."""
    found, section = {}, None
    for line in (ROOT / "config/README.md").read_text().splitlines():
        if heading := re.match(r"^## `(\w+)`", line):
            section = heading.group(1)
        elif (row := re.match(r"^\| `(\w+)` \| `([^`]*)` \|", line)) and section in SECTIONS:
            found[(section, row.group(1))] = yaml.safe_load(row.group(2))
    return found


def test_config_readme_gives_every_schema_default():
    assert documented_defaults() == schema_defaults()


def test_default_config_file_states_the_schema_defaults():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    stated = {(section, key): value for section in SECTIONS for key, value in config[section].items()}
    assert stated == schema_defaults()


def readme_block(language: str, containing: str) -> str:
    """The README's ```language block that contains ``containing``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def planned_cells(workdir, experiment: dict) -> int:
    """How many cells `snakemake -n --configfile` plans in a project-like folder (config/config.yaml beside)."""
    from conftest import planned_jobs, snakemake, write_config

    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config/config.yaml").write_text((ROOT / "config/config.yaml").read_text())
    write_config(workdir, experiment)
    proc = snakemake(workdir, "-n")
    return planned_jobs(proc)["train_cell"]


def test_an_experiment_file_replaces_the_default_config(tmp_path):
    assert planned_cells(tmp_path, {"grid": {"hidden_units": [8], "learning_rate": [0.1]}}) == 1


# What a README example may be changed in to run in seconds: how long it trains, never what it trains.
QUICK = {"epochs": 2, "repetitions": 1, "cv_folds": 2}


def run_readme_experiment(workdir, experiment: dict):
    """Run an experiment file from the README in a project-like folder, quicker; returns the summary and best."""
    import pandas as pd
    from conftest import snakemake, write_config

    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config/config.yaml").write_text((ROOT / "config/config.yaml").read_text())
    experiment = {**experiment, "training": {**experiment.get("training", {}), **QUICK}}
    write_config(workdir, experiment)
    snakemake(workdir, "--cores", "2")
    best = yaml.safe_load((workdir / "results/best.json").read_text())
    return pd.read_csv(workdir / "results/summary.csv"), best


def test_readmes_bring_your_own_model_example_runs_as_written(tmp_path):
    (tmp_path / "mymodels.py").write_text(readme_block("python", "def two_layers"))
    experiment = yaml.safe_load(readme_block("yaml", "builder: mymodels:two_layers"))
    assert planned_cells(tmp_path, experiment) == 2 * 3 * 2  # width x depth x learning_rate
    table, best = run_readme_experiment(tmp_path, experiment)
    assert len(table) == 12 and (table["status"] == "ok").all()
    assert sorted(c.removeprefix("param_") for c in table.columns if c.startswith("param_")) == [
        "depth", "learning_rate", "width"]  # fmt: skip
    assert set(table["n_params"]) == {  # the builder's own networks: 30 features, 2 classes
        30 * w + w + (d - 1) * (w * w + w) + 2 * w + 2 for w in (16, 64) for d in (1, 2, 3)}  # fmt: skip
    assert best["cv"]["accuracy"]["mean"] > best["baseline"]["cv"]["accuracy"]["mean"]


def test_readmes_bring_your_own_data_example_runs_as_written(tmp_path):
    """The README's data example, on a CSV of its own: string labels in the column it names."""
    from sklearn.datasets import load_wine

    experiment = yaml.safe_load(readme_block("yaml", "target: diagnosis"))
    source = tmp_path / experiment["dataset"]["source"]
    source.parent.mkdir(parents=True)
    wine = load_wine(as_frame=True)
    wine.frame.drop(columns="target").assign(diagnosis=wine.target.map({0: "a", 1: "b", 2: "c"})).to_csv(
        source, index=False
    )
    table, best = run_readme_experiment(tmp_path, experiment)
    assert len(table) == int(np.prod([len(v) for v in experiment["grid"].values()]))
    assert (table["status"] == "ok").all()
    assert best["baseline"]["cv"]["accuracy"]["mean"] == pytest.approx(71 / 178, abs=0.02)  # the largest class


def test_readmes_transformer_example_runs_as_written(tmp_path):
    import shutil

    (tmp_path / "myprep.py").write_text(readme_block("python", "def prep"))
    experiment = yaml.safe_load(readme_block("yaml", "transformer: myprep:prep"))
    (tmp_path / "config/examples").mkdir(parents=True)
    shutil.copy(ROOT / "config/examples/customers.csv", tmp_path / "config/examples")
    table, _ = run_readme_experiment(tmp_path, experiment)
    assert len(table) == 4 and (table["status"] == "ok").all()
    record = json.loads(next((tmp_path / "results/cells").rglob("metrics.json")).read_text())
    assert record["preprocessing"] == {"columns_in": 4, "features_out": 9, "transformer": "myprep:prep"}


def test_readmes_regression_example_runs_as_written(tmp_path):
    experiment = yaml.safe_load(readme_block("yaml", "task: regression"))
    table, best = run_readme_experiment(tmp_path, experiment)
    assert len(table) == 2 * 2 * 2 and (table["status"] == "ok").all()
    assert best["metric"] == "r2" and table["mean_test_r2"].is_monotonic_decreasing
    assert best["cv"]["r2"]["mean"] > best["baseline"]["cv"]["r2"]["mean"] + 0.1
    assert (table["mean_test_mae"] > 20).all()  # diabetes progression, in its own units (25 to 346)


# --- Numbers the README and docs/ state that the code or the config decides ---------------------------------------
# Each claim is a pattern on the sentence the number sits in (line breaks read as spaces) whose groups must equal the
# facts named beside it: a changed number on either side, or a sentence rewritten so the pattern no longer finds it,
# fails the test.

WORDS = {"once": 1, "one": 1, "two": 2, "three": 3, "four": 4, "six": 6, "twice": 2, "doubles": 2}


def doc_text(name: str) -> str:
    return re.sub(r"\s+", " ", (ROOT / name).read_text())


def as_number(text: str) -> float:
    return WORDS[text] if text in WORDS else float(text.replace(",", ""))


def module_constants(path: str) -> dict:
    """A module's top-level constants, read without importing it (gridflow.train.fused imports TensorFlow)."""
    found = {}
    for node in ast.parse((ROOT / path).read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            names = [target] if isinstance(target, ast.Name) else getattr(target, "elts", [])
            try:
                value = ast.literal_eval(node.value)
                values = [value] if isinstance(target, ast.Name) else list(value)
            except (ValueError, TypeError, SyntaxError):  # not a literal
                continue
            found |= {name.id: v for name, v in zip(names, values) if isinstance(name, ast.Name)}
    return found


def grid_cells(grid: dict) -> int:
    return math.prod(len(values) for values in grid.values())


def grid_loops(grid: dict) -> int:
    """Compiled loops a grid needs with the built-in builder: one per combination of its shape-setting axes."""
    from gridflow.spec.axes import KNOWN_AXES

    return math.prod(len(values) for axis, values in grid.items() if not KNOWN_AXES[axis].loop_input)


def grid_figures(config: dict) -> int:
    """Figures of a run (common.smk's figure_files): heatmaps per pair and flavour, effects per axis, curves, cost,
    importance."""
    grid, figures = config["grid"], config["figures"]
    return len(figures["heatmaps"]) * math.comb(len(grid), 2) + len(grid) + bool(figures["curves_top"]) + 2


def grid_jobs(config: dict) -> int:
    """Snakemake's jobs for a whole run of ``config`` (the console's table of jobs)."""
    # split_data, the cells, summarize, importance, export_tensorboard, tables, the figures, all
    return 1 + grid_cells(config["grid"]) + 2 + bool(config["export"]["tensorboard"]) + 1 + grid_figures(config) + 1


@functools.cache
def facts() -> dict:
    """What the code and the config say, by name."""
    from gridflow.analysis.importance import importance
    from gridflow.data.labels import MAX_NUMERIC_CLASSES
    from gridflow.data.split import MAX_LABEL_BINS
    from gridflow.report.figures.heatmaps import WRITTEN_MAX
    from gridflow.report.progress import MAX_LINES, WINDOW
    from gridflow.spec import resources
    from gridflow.spec.metrics import METRICS_BY_TASK
    from gridflow.train.workers import LOOPS_PER_PROCESS

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    grid, training = config["grid"], config["training"]
    slurm = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    local = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())
    (group,) = [int(n.removeprefix("cells=")) for n in slurm["group-components"] if n.startswith("cells=")]
    models = training["repetitions"] * (training["cv_folds"] + 1)
    retry_mb = resources.cell_mem_mb(group, attempt=2)
    # Any cell's runtime, attempt after attempt (here a default cell of batch size 4 on breast cancer's 455 rows).
    runtime = [
        resources.cell_runtime_minutes(
            training, epochs=training["epochs"], batch_size=4, n_train_rows=455, attempt=attempt
        )
        for attempt in (1, 2, 3)
    ]
    (cell_threads,) = re.findall(
        r"rule train_cell:.*?threads: (\d+)", (ROOT / "workflow/rules/train.smk").read_text(), re.S
    )
    percentiles = re.search(
        r"nanpercentile\(.*?\[([\d.]+), ([\d.]+)\]", (ROOT / "workflow/gridflow/analysis/importance.py").read_text()
    )
    peer = module_constants("benchmarks/bench_peer.py")
    analysis = module_constants("benchmarks/bench_analysis.py")
    return {
        "cells": grid_cells(grid),
        "models": models,
        "fits": grid_cells(grid) * models,
        "repetitions": training["repetitions"],
        "cv_folds": training["cv_folds"],
        "epochs": training["epochs"],
        "loops": grid_loops(grid),
        "loops without dropout as an input": grid_loops(grid) * len(grid["dropout"]),
        "cells per learning rate": grid_cells(grid) // len(grid["learning_rate"]),
        "cells per learning rate from memory": grid_cells(grid) // len(grid["learning_rate"]) - grid_loops(grid),
        "cells from memory": grid_cells(grid) - grid_loops(grid),
        "jobs": grid_jobs(config),
        "xla min steps": module_constants("workflow/gridflow/train/fitting.py")["XLA_MIN_STEPS_PER_EPOCH"],
        "loops per process": LOOPS_PER_PROCESS,
        "process GB": resources.PROCESS_MB / 1000,
        "cell MB": resources.CELL_MB,
        "group": group,
        "cell CPUs": int(cell_threads),
        "group CPUs": group * int(cell_threads),
        "group GB": round(group * resources.cell_mem_mb(group) / 1000, 1),
        "retry cell MB": retry_mb,
        "retry group GB": group * retry_mb / 1000,
        "memory factor per further retry": resources.cell_mem_mb(group, attempt=3) / retry_mb,
        "runtime factor per retry": runtime[1] / runtime[0],
        "runtime factor per further retry": runtime[2] / runtime[1],
        "slurm jobs": slurm["jobs"],
        "max cell jobs": resources.MAX_CELL_JOBS,
        "cells before groups grow": group * resources.MAX_CELL_JOBS,
        "cells a job of 10,000": resources.cells_per_cluster_job(group, 10_000),
        "cells a job of 100,000": resources.cells_per_cluster_job(group, 100_000),
        "progress lines": MAX_LINES,
        "progress lines at most": MAX_LINES + 1,
        "written heatmap values": WRITTEN_MAX,
        "slurm cores": slurm["cores"],
        "slurm retries": slurm["retries"],
        "local retries": local["retries"],
        "local scheduler subsample": local["scheduler-subsample"],
        "progress window": WINDOW,
        "max numeric classes": MAX_NUMERIC_CLASSES,
        "max label bins": MAX_LABEL_BINS,
        "classification metrics": len(METRICS_BY_TASK["classification"]),
        "regression metrics": len(METRICS_BY_TASK["regression"]),
        "curves_top": SCHEMA["properties"]["figures"]["properties"]["curves_top"]["default"],
        "curves_top max": SCHEMA["properties"]["figures"]["properties"]["curves_top"]["maximum"],
        "alpha": SCHEMA["properties"]["analysis"]["properties"]["alpha"]["default"],
        "bootstrap resamples": inspect.signature(importance).parameters["n_boot"].default,
        "interval %": float(percentiles.group(2)) - float(percentiles.group(1)),
        "peer cells": grid_cells(peer["GRID"]),
        "peer loops": grid_loops(peer["GRID"]),
        "peer folds": peer["FOLDS"],
        "peer epochs": peer["EPOCHS"],
        "peer models": peer["FOLDS"] + 1,
        "peer figures": grid_figures({**config, "grid": peer["GRID"]}),
        "analysis cells": grid_cells(analysis["GRID"]),
        "analysis models": analysis["REPETITIONS"] * (analysis["FOLDS"] + 1),
        "analysis epochs": analysis["EPOCHS"],
    }


CLAIMS = [
    # README.md
    ("README.md", r"Breast Cancer Wisconsin data set, (\d+) cells\) is the default config", ["cells"]),
    ("README.md", r"runs the default (\d+)-cell grid", ["cells"]),
    ("README.md", r"53 s for the grid \((\d+) cells, (\d+) compiled training loops", ["cells", "loops"]),
    ("README.md", r"one Slurm job per group of (\d+) cells", ["group"]),
    (
        "README.md",
        r"keeps at most (\d+) jobs in the queue and retries a failed job (once)",
        ["slurm jobs", "slurm retries"],
    ),
    ("README.md", r"are retried (once) in a fresh process", ["local retries"]),
    (
        "README.md",
        r"more cells a job for a grid of more than\s+([\d,]+) cells, to keep it at most (\d+) jobs",
        ["cells before groups grow", "max cell jobs"],
    ),
    ("README.md", r"The console prints a progress line every 1/(\d+) of the cells", ["progress lines"]),
    # docs/how-it-works.md
    ("docs/how-it-works.md", r"`rerun-incomplete`, (one) retry", ["local retries"]),
    (
        "docs/how-it-works.md",
        r"`repetitions × \(cv_folds \+ 1\)` models — (\d+) in the default config, ([\d,]+) fits for the whole grid",
        ["models", "fits"],
    ),
    ("docs/how-it-works.md", r"the default grid needs (\d+) loops \([^)]*\) for its (\d+) cells", ["loops", "cells"]),
    ("docs/how-it-works.md", r"replaced after it has built (\d+) loops", ["loops per process"]),
    ("docs/how-it-works.md", r"fewer than\s+(\d+) optimizer steps an epoch", ["xla min steps"]),
    ("docs/how-it-works.md", r"follows the pace of the last (\d+) cells", ["progress window"]),
    ("docs/how-it-works.md", r"train cell (\d+) \.\.\. total (\d+)", ["cells", "jobs"]),
    ("docs/how-it-works.md", r"gridflow: \d+/(\d+) cells trained", ["cells"]),
    # docs/cluster.md
    (
        "docs/cluster.md",
        r"one Slurm job per group of (\d+) cells, keeps at most (\d+) jobs in the queue, retries a failed job (once) "
        r"\(`retries: (\d+)`",
        ["group", "slurm jobs", "slurm retries", "slurm retries"],
    ),
    (
        "docs/cluster.md",
        r"one process's memory: ([\d.]+) GB \(measured 0\.85 GB for a job of the test grid\) divided by the cells per "
        r"job, plus (\d+) MB a cell",
        ["process GB", "cell MB"],
    ),
    ("docs/cluster.md", r"a group of (\d+) asks for (\d+) CPUs, ([\d.]+) GB", ["group", "group CPUs", "group GB"]),
    ("docs/cluster.md", r"\(`cores` in the profile, (\d+)\)", ["slurm cores"]),
    ("docs/cluster.md", r"A cell asks for (\d+) CPU, a runtime that grows with its work", ["cell CPUs"]),
    ("docs/cluster.md", r"([\d.]+) GB \+ (\d+) MB = ([\d,]+) MB", ["process GB", "cell MB", "retry cell MB"]),
    ("docs/cluster.md", r"a retried group of (\d+) asks for ([\d.]+) GB", ["group", "retry group GB"]),
    ("docs/cluster.md", r"and that (doubles) on every further attempt", ["memory factor per further retry"]),
    (
        "docs/cluster.md",
        r"A cell's runtime (doubles) with every attempt: a retry asks for (twice) the first attempt's",
        ["runtime factor per further retry", "runtime factor per retry"],
    ),
    (
        "docs/cluster.md",
        r"A grid of more than ([\d,]+) cells gets more cells a job, to keep it at\s+most (\d+) jobs",
        ["cells before groups grow", "max cell jobs"],
    ),
    ("docs/cluster.md", r"\| 10,000 \| (\d+) \| (\d+) \|", ["cells a job of 10,000", "max cell jobs"]),
    ("docs/cluster.md", r"\| 100,000 \| (\d+) \| (\d+) \|", ["cells a job of 100,000", "max cell jobs"]),
    # docs/scale.md
    ("docs/scale.md", r"one line per trained cell up to (\d+) cells", ["progress lines"]),
    (
        "docs/scale.md",
        r"every 1/(\d+) of the cells and the last: at most (\d+) lines",
        ["progress lines", "progress lines at most"],
    ),
    ("docs/scale.md", r"whose axes have up to (\d+) values writes", ["written heatmap values"]),
    (
        "docs/scale.md",
        r"sets `scheduler-subsample: (\d+)`.*?chooses among (\d+) ready jobs.*?(\d+) keeps up to (\d+) cores",
        ["local scheduler subsample"] * 4,
    ),
    (
        "docs/scale.md",
        r"a 10,000-cell grid submits (\d+)\s+Slurm jobs of (\d+) cells",
        ["max cell jobs", "cells a job of 10,000"],
    ),
    # docs/outputs.md
    (
        "docs/outputs.md",
        r"\((six) for classification, (four) for regression\)",
        ["classification metrics", "regression metrics"],
    ),
    ("docs/outputs.md", r"`p_vs_best >= analysis\.alpha` \(default ([\d.]+)\)", ["alpha"]),
    ("docs/outputs.md", r"`figures\.curves_top`, default (\d+)", ["curves_top"]),
    ("docs/outputs.md", r"with a (\d+) % bootstrap interval over the folds", ["interval %"]),
    ("docs/outputs.md", r"as bars with their (\d+) % intervals", ["interval %"]),
    # docs/findings.md
    (
        "docs/findings.md",
        r"\(`config/config\.yaml`: (\d+) cells, (\d+) folds × (\d+) repetitions each\)",
        ["cells", "cv_folds", "repetitions"],
    ),
    (
        "docs/findings.md",
        r"dropout's main effect explains [\d.]+ % of the variance between cells \((\d+) %",
        ["interval %"],
    ),
    # docs/benchmarks.md
    (
        "docs/benchmarks.md",
        r"What a new user tries first: (\d+) cells \(.*?\), (\d+) folds, 1 repetition, (\d+) epochs",
        ["peer cells", "peer folds", "peer epochs"],
    ),
    (
        "docs/benchmarks.md",
        r"gridflow trains (\d+) models a cell \((\d+) folds \+ the test model\)",
        ["peer models", "peer folds"],
    ),
    ("docs/benchmarks.md", r"(\d+) loops traced \(these cells run", ["peer loops"]),
    ("docs/benchmarks.md", r"and (\d+) cells of about 0\.3 s", ["peer cells"]),
    ("docs/benchmarks.md", r"(\d+) figures and tables 4 s", ["peer figures"]),
    (
        "docs/benchmarks.md",
        r"learning rate 0\.01, (\d+) epochs\) trains (\d+) repetitions × \((\d+) folds \+ 1\) = (\d+) models",
        ["epochs", "repetitions", "cv_folds", "models"],
    ),  # fmt: skip
    ("docs/benchmarks.md", r"`config/config\.yaml` \((\d+) cells, ([\d,]+) models\)", ["cells", "fits"]),
    (
        "docs/benchmarks.md",
        r"reused from memory \| 130 / — / 86 \| (\d+) / 0 / (\d+) \|",
        ["loops", "cells from memory"],
    ),
    (
        "docs/benchmarks.md",
        r"grown by one learning rate: (\d+) new cells \| — \| [\d.]+ s; (\d+) loops from disk, (\d+) from memory",
        ["cells per learning rate", "loops", "cells per learning rate from memory"],
    ),
    ("docs/benchmarks.md", r"The grown run's 29 s: .*?, (\d+) loops traced and loaded from disk", ["loops"]),
    ("docs/benchmarks.md", r"(\d+) distinct loops became (\d+)", ["loops without dropout as an input", "loops"]),
    (
        "docs/benchmarks.md",
        r"shaped like the default grid's \((\d+) cells, (\d+) models each with .*?, (\d+) epochs of curves\)",
        ["analysis cells", "analysis models", "analysis epochs"],
    ),
    ("docs/benchmarks.md", r"importance\.csv, ([\d,]+) bootstrap resamples", ["bootstrap resamples"]),
    # config/README.md
    ("config/README.md", r"a numeric label with more than (\d+) distinct values", ["max numeric classes"]),
    ("config/README.md", r"on up to (\d+) quantile bins of the label", ["max label bins"]),
    ("config/README.md", r"this many top-ranked cells, at most (\d+)", ["curves_top max"]),
    ("config/README.md", r"`learning_rate` \[0\.01, 0\.1, 0\.5, 1\] = (\d+) cells", ["cells"]),
]


@pytest.mark.parametrize(("doc", "pattern", "names"), CLAIMS, ids=[f"{c[0]}:{'+'.join(c[2])}" for c in CLAIMS])
def test_docs_state_the_numbers_of_the_code_and_config(doc, pattern, names):
    found = [match.groups() for match in re.finditer(pattern, doc_text(doc))]
    assert found, f"{doc} no longer says {pattern!r}: reword the claim here too"
    expected = tuple(facts()[name] for name in names)
    for groups in found:
        assert tuple(as_number(g) for g in groups) == pytest.approx(expected), dict(zip(names, groups))


def test_the_loops_of_the_default_grid_are_named_by_their_axes():
    """The axes the docs multiply for the default grid's loops are those whose values each need a loop of their own."""
    from gridflow.spec.axes import KNOWN_AXES

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    shaping = {axis for axis in config["grid"] if not KNOWN_AXES[axis].loop_input}
    (named,) = re.findall(r"the default grid needs \d+ loops \(([^)]*)\)", doc_text("docs/how-it-works.md"))
    assert {name.strip().replace(" ", "_") for name in named.split("×")} == shaping


def test_how_cells_train_fast_counts_its_own_reasons():
    text = (ROOT / "docs/how-it-works.md").read_text()
    section = text.split("## How cells train fast")[1].split("\n## ")[0]
    (count,) = re.findall(r"(\w+) things make that take about a minute", re.sub(r"\s+", " ", section))
    assert WORDS[count.lower()] == len(re.findall(r"^- \*\*", section, flags=re.M))


def test_the_quick_starts_small_grid_has_the_cells_it_says():
    (grid_file, cells) = re.findall(
        r"echo '(.*?)' > small\.yaml .*?--configfile small\.yaml # (\d+) cells", doc_text("README.md")
    )[0]
    experiment = yaml.safe_load(grid_file)
    assert set(experiment) == {"grid"} and grid_cells(experiment["grid"]) == int(cells)


def test_the_readme_shows_where_the_result_is_and_how_to_change_the_grid_in_its_first_40_lines():
    opening = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    for needed in (
        "make run",
        "results/",
        "best.json",
        "report.html",
        "summary.csv",
        "--configfile",
        "config/config.yaml",
    ):
        assert needed in opening


# --- Links -----------------------------------------------------------------------------------------------------------


def heading_anchors(path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    in_code = False
    for line in path.read_text().splitlines():
        in_code ^= line.startswith("```")
        if not in_code and (heading := re.match(r"^#{1,6} (.*)", line)):
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return anchors


DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOC_FILES, ids=[p.relative_to(ROOT).as_posix() for p in DOC_FILES])
def test_every_link_points_to_a_file_or_heading_that_exists(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"https?://", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or (anchor and anchor not in heading_anchors(file)):
            broken.append(target)
    assert broken == []
