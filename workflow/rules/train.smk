rule train_cell:
    input:
        split="results/data/split.npz",
    output:
        metrics="results/cells/{cell}/metrics.json",
    params:
        values=cell_values,
        settings=CELL_SETTINGS,
    log:
        "results/logs/train_cell/{cell}.log",
    threads: 1
    run:
        train_cell(input.split, params.values, params.settings, output.metrics, log[0], threads)
