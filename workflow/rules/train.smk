from gridflow.train.cell import train_cell  # imports TensorFlow only when a cell trains


# Inside a cluster job the rule is local, so the cells of a group train as
# threads of the job's one Snakemake process: one TensorFlow import and one
# compiled loop per job instead of per cell. Snakemake does not document that
# a rule can be local in the job's process only; tests/test_slurm.py fails the
# day this stops working (the cells of a job must share one pid).
rule train_cell:
    input:
        split="results/data/split.npz",
        # The cell at the next smaller budget, if the run trains one: this cell goes on from its kept state.
        # (Plain values where they are the same for every cell: a function costs Snakemake a call a job.)
        smaller=smaller_budget_files if BUDGETS else [],
    output:
        # The record, and beside it what the models computed (scores are computed from it downstream).
        metrics="results/cells/{cell}/metrics.json",
        arrays="results/cells/{cell}/models.npz",
    log:
        "results/logs/train_cell/{cell}.log",
    localrule: not workflow.is_main_process
    threads: 1
    resources:
        runtime=cell_runtime,
        mem_mb=cell_mem_mb,
        # Not a request: tells the cell whether it is a retry (see gridflow.train.kept).
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
            previous=list(input.smaller),
            **cell_job(threads, resources.attempt),
        )
        show_progress(record)
