# The config check, the grid's cells, and the paths and input functions every rule uses.
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from gridflow.data.check_cache import cached_check_data
from gridflow.errors import ConfigError
from gridflow.per_job import per_job
from gridflow.report.figures.heatmaps import FLAVOURS
from gridflow.spec import grid as gridlib
from gridflow.spec import search as searchlib
from gridflow.spec.check import validate_config
from gridflow.spec.datasets import BUILTIN_DATASETS
from gridflow.spec.key import shared_settings, split_settings
from gridflow.spec.caption import describe_settings
from gridflow.spec.signature import builder_source_digest, source_digest

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
    DATA_SIZE = cached_check_data(config)
except ConfigError as error:
    sys.exit(f"gridflow: config error: {error}")

SEARCH = config["search"]
HALVING = SEARCH["strategy"] == "halving"
# The search's keys that apply to its strategy: the summary's params (the others must redo nothing).
SEARCH_USED = {
    key: value
    for key, value in SEARCH.items()
    if key == "strategy"
    or (SEARCH["strategy"] == "random" and key in ("n_cells", "seed"))
    or (HALVING and key in ("factor", "min_epochs", "max_epochs"))
}
# The grid's cells, or the random sample of them the run trains.
GRID_CELLS = gridlib.cells_by_id(config["grid"])
if SEARCH["strategy"] == "random":
    GRID_CELLS = searchlib.sampled_cells(GRID_CELLS, SEARCH["n_cells"], SEARCH["seed"])
# The epochs a cell trains for in turn, each going on from the one before: a halving search's rounds, or an
# epochs axis's values; none otherwise.
if HALVING:
    BUDGETS = searchlib.halving_budgets(
        len(GRID_CELLS), factor=SEARCH["factor"], min_epochs=SEARCH["min_epochs"], max_epochs=SEARCH["max_epochs"]
    )
else:
    BUDGETS = sorted(gridlib.canonical_value(v) for v in config["grid"].get(searchlib.BUDGET_AXIS, []))
# Every cell a job may train: with halving, each grid cell at each round's epochs.
CELLS = {
    searchlib.with_budget(cell, epochs): {**values, searchlib.BUDGET_AXIS: epochs}
    for cell, values in GRID_CELLS.items()
    for epochs in BUDGETS
} if HALVING else GRID_CELLS  # fmt: skip
AXES = sorted(config["grid"])
# The summary's axes: a halving search's cells also differ in their epochs.
SUMMARY_AXES = sorted([*AXES, searchlib.BUDGET_AXIS]) if HALVING else AXES
# What a cell's training depends on besides its own values, the settings part of its key: one for every cell,
# or one per optimizer when the optimizer is an axis (SGD's momentum is no part of an Adam cell's).
BUILDER_SOURCE = builder_source_digest(config["model"]["builder"], BUILDER_SEARCH_PATH)
TRANSFORMER = config["preprocessing"]["transformer"]
TRANSFORMER_SOURCE = source_digest(TRANSFORMER, BUILDER_SEARCH_PATH) if TRANSFORMER else ""
CELL_SETTINGS = {
    optimizer: shared_settings(
        config, builder_source=BUILDER_SOURCE, optimizer=optimizer, transformer_source=TRANSFORMER_SOURCE
    )
    for optimizer in config["grid"].get("optimizer", [None])
}
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
    plot_rounds,
    select_round,


wildcard_constraints:
    cell=gridlib.cell_id_pattern(),
    round=r"\d+",
    a="|".join(AXES),
    b="|".join(AXES),
    axis="|".join(AXES),
    flavour="|".join(FLAVOURS),


def round_cells(round_):
    """The cells round ``round_`` of a halving search trains: every grid cell in round 0, then those the round
    before chose (read from its checkpoint's file), each at the round's epochs."""
    if round_ == 0:
        going_on = list(GRID_CELLS)
    else:
        chosen = checkpoints.select_round.get(round=round_ - 1).output[0]
        going_on = json.loads(Path(chosen).read_text())["survivors"]
    return [searchlib.with_budget(cell, BUDGETS[round_]) for cell in going_on]


def cell_ids():
    """Ids of every cell the run trains, in grid order (a halving search: round by round, up to a round that no
    cell reached because every cell of the one before failed or diverged)."""
    if not HALVING:
        return list(CELLS)
    cells = []
    for round_ in range(len(BUDGETS)):
        in_round = round_cells(round_)
        if not in_round:
            break
        cells += in_round
    return cells


def metrics_files(cells):
    """The metrics file of each of ``cells`` (its models.npz is beside it)."""
    return [f"results/cells/{cell}/metrics.json" for cell in cells]


def cell_metrics_files(wildcards=None):
    """The metrics file of every cell the run trains."""
    return metrics_files(cell_ids())


def run_batch():
    """This run's --batch (Snakemake's: its .batches), or None; known once Snakemake has read the whole workflow."""
    return getattr(getattr(workflow, "dag_settings", None), "batch", None)


def refuse_batched_halving():
    """A halving search's rounds follow from checkpoints that need the whole round before them: a --batch slice
    of its cells would choose survivors from a part of a round."""
    if HALVING and run_batch():
        sys.exit(
            "gridflow: config error: search.strategy: 'halving' cannot run in --batch slices (each round chooses"
            " from the whole round before it); run it without --batch, or use strategy 'grid' or 'random'"
        )


def summary_inputs(wildcards):
    """The summary's inputs: every cell's metrics file. Snakemake calls this after it has read its command line
    and before it needs any cell job's resources: the moment to set what the cells' jobs ask for (plan_cell_jobs)
    and to refuse what the command line asks that the search cannot do."""
    refuse_batched_halving()
    plan_cell_jobs()
    return cell_metrics_files()


def round_metrics_files(wildcards):
    """The metrics file of every cell of a halving round."""
    return metrics_files(round_cells(int(wildcards.round)))


@per_job
def cell_values(wildcards):
    """The axis values of the cell a job trains."""
    return CELLS[wildcards.cell]


@per_job
def cell_settings(wildcards):
    """The settings part of a cell's key (its values are the other part)."""
    return CELL_SETTINGS[CELLS[wildcards.cell].get("optimizer")]


@per_job
def smaller_budget_files(wildcards):
    """The metrics file of this cell at the next smaller budget, if the run trains one: the cell goes on from its
    kept state. ancient: that it is there orders the jobs; its age must not retrain this cell."""
    budget = CELLS[wildcards.cell].get(searchlib.BUDGET_AXIS, 0)
    # The largest the run trains: a random sample may leave the next smaller one out.
    smaller = [searchlib.with_budget(wildcards.cell, epochs) for epochs in BUDGETS if epochs < budget]
    trained = [cell for cell in smaller if cell in CELLS]
    return [ancient(f"results/cells/{trained[-1]}/metrics.json")] if trained else []


def figure_files():
    """Every figure of the run, each as PNG (in the report) and SVG."""
    figures = [
        f"heatmaps/{flavour}/{a}__{b}" for flavour in config["figures"]["heatmaps"]
        for a, b in gridlib.axis_pairs(config["grid"])
    ]  # fmt: skip
    figures += [f"effects/{axis}" for axis in AXES]
    figures += ["learning_curves"] if config["figures"]["curves_top"] else []
    figures += ["cost", "importance"] + (["rounds"] if HALVING else [])
    return [f"results/figures/{name}.{ext}" for name in figures for ext in ("png", "svg")]


def export_files():
    """What the run writes for other tools (config key export)."""
    return ["results/tensorboard/events.out.tfevents.gridflow"] if config["export"]["tensorboard"] else []


def dataset_file():
    """The data set file, so that editing it redoes the split; none for built-ins."""
    source = config["dataset"]["source"]
    return [] if source in BUILTIN_DATASETS else [source]
