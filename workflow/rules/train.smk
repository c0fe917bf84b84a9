rule train_cell:
    input:
        split="results/data/split.npz",
    output:
        metrics="results/cells/{cell}/metrics.json",
    log:
        "results/logs/train_cell/{cell}.log",
    threads: 1
    resources:
        runtime=cell_runtime,
        mem_mb=cell_mem_mb,
    params:
        values=cell_values,
        settings=CELL_SETTINGS,
    run:
        train_cell(
            split=input.split,
            values=params.values,
            settings=params.settings,
            metrics=output.metrics,
            log=log[0],
            threads=threads,
            workers=cell_workers(),
        )
