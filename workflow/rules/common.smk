# The config check, the grid's cells, and the paths and input functions every rule uses.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from gridflow.data.feasible import check_data
from gridflow.errors import ConfigError
from gridflow.report.figures.heatmaps import FLAVOURS
from gridflow.spec import grid as gridlib
from gridflow.spec.check import validate_config
from gridflow.spec.datasets import BUILTIN_DATASETS
from gridflow.spec.key import shared_settings, split_settings
from gridflow.spec.caption import describe_settings
from gridflow.spec.signature import builder_source_digest

# Where a user's builder module is looked for besides the Python path.
BUILDER_SEARCH_PATH = [os.getcwd(), str(Path(workflow.basedir) / "workflow")]
sys.path[:0] = [p for p in BUILDER_SEARCH_PATH if p not in sys.path]

# An experiment file given with --configfile is the whole experiment: it replaces
# config/config.yaml, which Snakemake would merge into it (adding the default
# grid's axes to yours); keys it omits take the schema's defaults. Every job's
# process gets the same --configfile and --config arguments, so sees the same.
if workflow.config_settings.configfiles:
    config.clear()
    config.update(workflow.config_settings.overwrite_config)

try:
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"), BUILDER_SEARCH_PATH)
    N_ROWS = check_data(config)
except ConfigError as error:
    sys.exit(f"gridflow: config error: {error}")

CELLS = gridlib.cells_by_id(config["grid"])
AXES = sorted(config["grid"])
# What every cell's training depends on besides its own values: the settings part of its key.
CELL_SETTINGS = shared_settings(
    config, builder_source=builder_source_digest(config["model"]["builder"], BUILDER_SEARCH_PATH)
)
SPLIT_SETTINGS = split_settings(config)
# One line on how every cell trained, for the report's captions.
ABOUT_CELLS = describe_settings(config)


# Light rules run where Snakemake runs, also when cells go to a cluster.
localrules:
    all,
    split_data,
    summarize,
    importance,
    export_tensorboard,
    tables,
    plot_heatmap,
    plot_marginal_effect,
    plot_learning_curves,
    plot_cost,
    plot_importance,


wildcard_constraints:
    cell=gridlib.cell_id_pattern(),
    a="|".join(AXES),
    b="|".join(AXES),
    axis="|".join(AXES),
    flavour="|".join(FLAVOURS),


def cell_ids():
    """Ids of every cell of the current grid, in grid order."""
    return list(CELLS)


def cell_metrics_files():
    """The metrics file of every cell of the current grid."""
    return [f"results/cells/{cell}/metrics.json" for cell in cell_ids()]


def cell_arrays_files():
    """What every cell's models computed (models.npz beside each metrics file)."""
    return [f"results/cells/{cell}/models.npz" for cell in cell_ids()]


def cell_values(wildcards):
    """The axis values of the cell a job trains."""
    return CELLS[wildcards.cell]


def figure_files():
    """Every figure of the run, each as PNG (in the report) and SVG."""
    figures = [
        f"heatmaps/{flavour}/{a}__{b}" for flavour in config["figures"]["heatmaps"]
        for a, b in gridlib.axis_pairs(config["grid"])
    ]  # fmt: skip
    figures += [f"effects/{axis}" for axis in AXES]
    figures += ["learning_curves"] if config["figures"]["curves_top"] else []
    figures += ["cost", "importance"]
    return [f"results/figures/{name}.{ext}" for name in figures for ext in ("png", "svg")]


def export_files():
    """What the run writes for other tools (config key export)."""
    return ["results/tensorboard/events.out.tfevents.gridflow"] if config["export"]["tensorboard"] else []


def dataset_file():
    """The data set file, so that editing it redoes the split; none for built-ins."""
    source = config["dataset"]["source"]
    return [] if source in BUILTIN_DATASETS else [source]
