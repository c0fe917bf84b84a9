# How this run executes: processes and threads, what a cell job asks a scheduler for, the console.
import dataclasses

from snakemake.logging import logger
from snakemake.resources import Resources

from gridflow.io import remove_unlisted
from gridflow.report.console import mend_job_error_reports
from gridflow.report.progress import CellProgress
from gridflow.spec.axes import training_value
from gridflow.spec.resources import cell_mem_mb as cell_share_mb
from gridflow.spec.resources import cell_data_mb, cell_runtime_minutes, cells_per_cluster_job


def local_threaded_run():
    """Whether jobs run as threads of this Snakemake process (profiles/default)."""
    settings = workflow.execution_settings  # None where nothing executes (--report)
    return workflow.is_main_process and settings is not None and settings.use_threads


def cell_workers():
    """Cells the training process trains at once: the run's cores in a local
    threaded run, else 0 (train in the job's own process)."""
    return workflow.cores if local_threaded_run() else 0


def training_threads(threads):
    """TensorFlow's threads in a process that trains cells itself: a cluster job's
    cores (its cells train side by side as threads), else the cell's own."""
    return threads if workflow.is_main_process else workflow.cores


def figure_processes():
    """Processes that draw figures: the run's cores in a local threaded run, else 0 (the job's own)."""
    return workflow.cores if local_threaded_run() else 0


def scoring_processes():
    """Processes that score the cells of a large summary: as many as draw figures."""
    return figure_processes()


@per_job
def cell_runtime(wildcards, attempt):
    """Minutes a cell job may need: grows with epochs, models and smaller batches."""
    values, training = CELLS[wildcards.cell], config["training"]
    n_train = int(DATA_SIZE.rows * (1 - config["split"]["test_size"]))
    return cell_runtime_minutes(
        training,
        epochs=training_value(values, training, "epochs"),
        batch_size=training_value(values, training, "batch_size"),
        n_train_rows=n_train,
        attempt=attempt,
    )


@per_job
def cell_attempt(wildcards, attempt):
    """Which attempt of its job a cell is (1, then 2 on a retry)."""
    return attempt


def cells_per_job():
    """Cells one cluster job trains when cells are grouped (--groups train_cell=cells, as profiles/slurm does):
    gridflow.spec.resources.cells_per_cluster_job, for the cells of this run or of its --batch; else 1."""
    settings = workflow.group_settings
    if settings.overwrite_groups.get("train_cell") != "cells":
        return 1
    batch = run_batch()
    n_cells = -(-len(GRID_CELLS) // batch.batches) if batch else len(GRID_CELLS)
    return cells_per_cluster_job(settings.group_components.get("cells", 1), n_cells)


def size_cell_groups():
    """Make the cells' groups cells_per_job() large, so that a large grid stays within a few hundred jobs.

    Snakemake takes a group's size only from its command line (--group-components, read after this file,
    before plan_cell_jobs).
    A cluster job's own Snakemake does not group its cells (they train in its process), so only the
    submitting one sizes them.
    """
    settings = workflow.group_settings
    if workflow.is_main_process and cells_per_job() != settings.group_components.get("cells", 1):
        components = {**settings.group_components, "cells": cells_per_job()}
        workflow.group_settings = dataclasses.replace(settings, group_components=components)


# What a cell's job asks a scheduler for, besides its threads (train.smk).
CELL_REQUESTS = ("runtime", "mem_mb")


def scheduler_reads_cell_requests():
    """Whether anything reads a cell job's runtime and memory: a cluster (Snakemake then gives every job
    default resources, as a cluster profile does, in its dry run too), default resources given locally, or
    --resources limiting them (mem_mb=...)."""
    limited = [name for name in workflow.global_resources if name.split("_")[0] in ("mem", "runtime")]
    return workflow.resource_settings.default_resources is not None or bool(limited)


def unread_resources():
    """The cell job's resources that nothing reads in this run: none where a scheduler reads its requests (a
    cluster's run among them, whose own local jobs Snakemake runs as threads too); else the requests, and the
    attempt where the cells train as threads of this run, which keep no copy for a retry to restore (cell_job)."""
    if scheduler_reads_cell_requests():
        return []
    return [*CELL_REQUESTS, "attempt"] if local_threaded_run() else list(CELL_REQUESTS)


def drop_unread_resources():
    """Leave out the cell job's resources that nothing reads: Snakemake evaluates every resource of every job,
    each as dear as a plain value: in a local dry run of bench_scale.py's 10,000 cells the two requests took some
    6 % of the time, the attempt 5 % (each measured apart)."""
    cells = workflow.get_rule("train_cell")
    if workflow.is_main_process:
        unread = unread_resources()
        cells.resources = Resources({k: v for k, v in cells.resources.items() if k not in unread})


def plan_cell_jobs():
    """Set what the cells' jobs ask Snakemake for, from how this run executes. Called by the summary's input
    function: Snakemake has read its command line by then, and evaluates a job's resources only when it needs
    them, after. A run without the summary (a cell's file as its target) keeps the rule's requests as declared."""
    size_cell_groups()
    drop_unread_resources()


@per_job
def cell_mem_mb(wildcards, attempt):
    """A cell's share of its job's memory (gridflow.spec.resources); a group sums the shares of the cells that
    train at once: the job's cells, at most one per CPU it asks for (profiles/slurm: cores)."""
    data_mb = cell_data_mb(config["training"], rows=DATA_SIZE.rows, features=DATA_SIZE.features)
    at_once = cells_per_job()
    if at_once > 1:
        at_once = min(at_once, workflow.resource_settings.cores or at_once)
    return cell_share_mb(at_once, attempt, data_mb)


# Where a local run stands, in cells; started by the Snakefile's onstart.
PROGRESS = CellProgress()
mend_job_error_reports()


def start_progress():
    """Count the cells this run trains (its DAG is built by now)."""
    PROGRESS.start(total=sum(job.rule.name == "train_cell" for job in workflow.dag.needrun_jobs()))


def cell_job(input, threads, resources):
    """How a cell's job runs: the cell it goes on from (a smaller budget's), TensorFlow's threads, the training
    process's cells at once, whether it keeps its end state (read here, not a param: changing it must retrain
    nothing), whether it keeps a copy of its files for a retry of its job, and which attempt it is.

    A cell keeps a copy in a job's own process, a cluster job's (whose cells are retried together, finished ones
    too), not in this run's threads (which retry only the cell that failed; drop_unread_resources leaves their
    attempt out)."""
    return {
        "previous": list(input.get("smaller", [])),
        "threads": training_threads(threads),
        "workers": cell_workers(),
        "keep_state": config["training"]["keep_state"],
        "keep_copy": not workflow.is_main_process,
        "attempt": resources.get("attempt", 1),
    }


def show_final_progress():
    """The line on all of the run's cells, if the last line shown left some out (gridflow.report.progress)."""
    if line := PROGRESS.final_line():
        logger.info(line)


def show_progress(record):
    """A line on the finished cells of a local run, when one is due (a cluster job's process knows only its
    own cells)."""
    if workflow.is_main_process:
        if line := PROGRESS.cell_done(record.cell, record.status):
            logger.info(line)
