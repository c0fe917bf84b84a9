"""Documentation that must say what the code does: defaults and README examples."""

import re

import yaml
from conftest import ROOT

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
SECTIONS = ["dataset", "split", "preprocessing", "training", "model", "figures"]


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
    from conftest import snakemake, write_config

    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config/config.yaml").write_text((ROOT / "config/config.yaml").read_text())
    write_config(workdir, experiment)
    proc = snakemake(workdir, "-n")
    return int(re.search(r"^train_cell\s+(\d+)$", proc.stdout + proc.stderr, flags=re.M).group(1))


def test_an_experiment_file_replaces_the_default_config(tmp_path):
    assert planned_cells(tmp_path, {"grid": {"hidden_units": [8], "learning_rate": [0.1]}}) == 1


def test_readmes_bring_your_own_model_example_plans_its_own_grid(tmp_path):
    (tmp_path / "mymodels.py").write_text(readme_block("python", "def two_layers"))
    experiment = yaml.safe_load(readme_block("yaml", "builder: mymodels:two_layers"))
    assert planned_cells(tmp_path, experiment) == 2 * 3 * 2  # width x depth x learning_rate
