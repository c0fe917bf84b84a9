rule split_data:
    input:
        dataset_file(),
    output:
        "results/data/split.npz",
    log:
        "results/logs/split_data/split_data.log",
    params:
        dataset=config["dataset"],
        split=config["split"],
        cv_folds=config["training"]["cv_folds"],
    run:
        write_split(params.dataset, params.split, params.cv_folds, output[0], log[0])
