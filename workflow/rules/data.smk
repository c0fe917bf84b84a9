from gridflow.data.split import write_split


rule split_data:
    input:
        dataset_file(),
    output:
        "results/data/split.npz",
    log:
        "results/logs/split_data/split_data.log",
    # The split's key (gridflow.spec.key): the data set, the split and the folds, as every cell's key has them.
    params:
        settings=SPLIT_SETTINGS,
    run:
        write_split(settings=params.settings, path=output[0], log_path=log[0])
