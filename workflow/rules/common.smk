# Config checks, the grid's cells and the input functions every rule uses.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from snakemake.logging import logger

from gridflow import __version__ as gridflow_version
from gridflow import config as configlib
from gridflow import grid as gridlib
from gridflow.analysis import write_importance
from gridflow.console import mend_job_error_reports
from gridflow.axes import training_value
from gridflow.data import BUILTIN_DATASETS, write_split
from gridflow.export import write_tensorboard
from gridflow.figures.cost import plot_cost
from gridflow.figures.curves import plot_learning_curves
from gridflow.figures.effects import plot_marginal_effect
from gridflow.figures.heatmaps import FLAVOURS, plot_heatmap
from gridflow.figures.importance import plot_importance
from gridflow.figures.pool import draw
from gridflow.io import remove_unlisted
from gridflow.progress import CellProgress
from gridflow.resources import cell_mem_mb as cell_share_mb
from gridflow.resources import cell_runtime_minutes
from gridflow.settings import cell_settings, describe_settings
from gridflow.summary import write_summary
from gridflow.tables import write_tables
from gridflow.train import train_cell  # imports TensorFlow only when a cell trains

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
    N_ROWS = configlib.validate_config(
        config, workflow.source_path("../schemas/config.schema.yaml"), BUILDER_SEARCH_PATH
    )
except configlib.ConfigError as error:
    sys.exit(f"gridflow: config error: {error}")

CELLS = gridlib.cells_by_id(config["grid"])
AXES = sorted(config["grid"])
CELL_SETTINGS = cell_settings(config)
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


def cell_values(wildcards):
    """The axis values of the cell a job trains."""
    return CELLS[wildcards.cell]


def local_threaded_run():
    """Whether jobs run as threads of this Snakemake process (profiles/default)."""
    return workflow.is_main_process and workflow.execution_settings.use_threads


def cell_workers():
    """Cells the training process trains at once: the run's cores in a local
    threaded run, else 0 (train in the job's own process)."""
    return workflow.cores if local_threaded_run() else 0


def training_threads(threads):
    """TensorFlow's threads in a process that trains cells itself: a cluster job's
    cores (its cells train side by side as threads), else the cell's own."""
    return threads if workflow.is_main_process else workflow.cores


# Where a local run stands, in cells; started by the Snakefile's onstart.
PROGRESS = CellProgress()
mend_job_error_reports()


def start_progress():
    """Count the cells this run trains (its DAG is built by now)."""
    PROGRESS.start(total=sum(job.rule.name == "train_cell" for job in workflow.dag.needrun_jobs()))


def show_progress(record):
    """One line per finished cell in a local run (a cluster job's process knows only its own cells)."""
    if workflow.is_main_process:
        logger.info(PROGRESS.cell_done(record["cell"], record["status"]))


def figure_processes():
    """Processes that draw figures: the run's cores in a local threaded run, else 0 (the job's own)."""
    return workflow.cores if local_threaded_run() else 0


def cell_runtime(wildcards, attempt):
    """Minutes a cell job may need: grows with epochs, models and smaller batches."""
    batch_size = training_value(CELLS[wildcards.cell], config["training"], "batch_size")
    n_train = int(N_ROWS * (1 - config["split"]["test_size"]))
    return cell_runtime_minutes(config["training"], batch_size, n_train, attempt)


def cell_attempt(wildcards, attempt):
    """Which attempt of its job a cell is (1, then 2 on a retry)."""
    return attempt


def cells_per_job():
    """Cells one cluster job trains: N of --group-components cells=N when cells are grouped, else 1."""
    if workflow.group_settings.overwrite_groups.get("train_cell") != "cells":
        return 1
    return workflow.group_settings.group_components.get("cells", 1)


def cell_mem_mb(wildcards, attempt):
    """A cell's share of its job's memory (gridflow.resources); a group sums its cells' shares."""
    return cell_share_mb(cells_per_job(), attempt)


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
