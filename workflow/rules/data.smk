from gridflow.data.split import write_split


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
        write_split(
            dataset_spec=params.dataset,
            split_spec=params.split,
            cv_folds=params.cv_folds,
            path=output[0],
            log_path=log[0],
        )
