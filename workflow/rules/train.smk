from gridflow.train.cell import train_cell  # imports TensorFlow only when a cell trains


# Inside a cluster job the rule is local, so the cells of a group train as
# threads of the job's one Snakemake process: one TensorFlow import and one
# compiled loop per job instead of per cell. Snakemake does not document that
# a rule can be local in the job's process only; tests/test_slurm.py fails the
# day this stops working (the cells of a job must share one pid).
rule train_cell:
    input:
        # With budgets, the cell at the next smaller one, if the run trains it: this cell goes on from its kept
        # state. Without, no entry at all: each entry, even an empty one, costs Snakemake for every job.
        **({"smaller": smaller_budget_files} if BUDGETS else {}),
        split="results/data/split.npz",
    output:
        # The record. What the models computed goes to models.npz beside it, written first by the same job and
        # read beside it downstream; undeclared, since each file a job declares costs Snakemake for every
        # cell it plans (docs/scale.md).
        metrics="results/cells/{cell}/metrics.json",
    log:
        "results/logs/train_cell/{cell}.log",
    localrule: not workflow.is_main_process
    threads: 1
    resources:
        runtime=cell_runtime,
        mem_mb=cell_mem_mb,
        # Not a request: tells a cell that keeps a copy whether it is a retry (gridflow.train.kept); left out
        # where none keeps one (drop_unread_resources).
        attempt=cell_attempt,
    # The cell's key (gridflow.spec.key): its values and exactly the settings that shape its training.
    params:
        values=cell_values,
        settings=cell_settings if "optimizer" in config["grid"] else CELL_SETTINGS[None],
    run:
        record = train_cell(
            split=input.split,
            values=params.values,
            settings=params.settings,
            metrics=output.metrics,
            log=log[0],
            **cell_job(input, threads, resources),
        )
        show_progress(record)
