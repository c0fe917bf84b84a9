"""Documentation that must say what the code does: defaults and README examples."""

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


def test_readmes_regression_example_runs_as_written(tmp_path):
    experiment = yaml.safe_load(readme_block("yaml", "task: regression"))
    table, best = run_readme_experiment(tmp_path, experiment)
    assert len(table) == 2 * 2 * 2 and (table["status"] == "ok").all()
    assert best["metric"] == "r2" and table["mean_test_r2"].is_monotonic_decreasing
    assert best["cv"]["r2"]["mean"] > best["baseline"]["cv"]["r2"]["mean"] + 0.1
    assert (table["mean_test_mae"] > 20).all()  # diabetes progression, in its own units (25 to 346)
