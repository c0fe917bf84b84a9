# Config checks, the grid's cells and the input functions every rule uses.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from gridflow import config as configlib
from gridflow import grid as gridlib
from gridflow.data import BUILTIN_DATASETS, write_split
from gridflow.plots import plot_heatmap
from gridflow.summary import write_summary
from gridflow.train import train_cell  # imports TensorFlow only when a cell trains

# Where a user's builder module is looked for besides the Python path.
BUILDER_SEARCH_PATH = [os.getcwd(), str(Path(workflow.basedir) / "workflow")]
sys.path[:0] = [p for p in BUILDER_SEARCH_PATH if p not in sys.path]

try:
    configlib.validate_config(config, workflow.source_path("../schemas/config.schema.yaml"), BUILDER_SEARCH_PATH)
except configlib.ConfigError as error:
    sys.exit(f"gridflow: config error: {error}")

CELLS = gridlib.cells_by_id(config["grid"])
AXES = sorted(config["grid"])
CELL_SETTINGS = configlib.cell_settings(config)


wildcard_constraints:
    cell=gridlib.cell_id_pattern(),
    a="|".join(AXES),
    b="|".join(AXES),


def cell_ids():
    """Ids of every cell of the current grid, in grid order."""
    return list(CELLS)


def cell_metrics_files():
    """The metrics file of every cell of the current grid."""
    return [f"results/cells/{cell}/metrics.json" for cell in cell_ids()]


def cell_values(wildcards):
    """The axis values of the cell a job trains."""
    return CELLS[wildcards.cell]


def cell_workers():
    """Worker processes for cells trained by this process: the run's cores in a
    local threaded run (profiles/default), else 0 (train in the job's own process)."""
    local_threads = workflow.is_main_process and workflow.execution_settings.use_threads
    return workflow.cores if local_threads else 0


def heatmap_files():
    """One heatmap per pair of axes."""
    return [f"results/figures/heatmap_{a}__{b}.png" for a, b in gridlib.axis_pairs(config["grid"])]


def dataset_file():
    """The data set file, so that editing it redoes the split; none for built-ins."""
    source = config["dataset"]["source"]
    return [] if source in BUILTIN_DATASETS else [source]
