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
