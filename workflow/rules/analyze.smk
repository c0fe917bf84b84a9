from gridflow.analysis.importance import write_importance
from gridflow.report.tensorboard import write_tensorboard


rule importance:
    input:
        "results/summary.csv",
    output:
        report(
            "results/importance.csv",
            caption="../report/importance_csv.rst",
            category="Results",
            labels={"table": "importance.csv (download)"},
        ),
    log:
        "results/logs/importance/importance.log",
    params:
        grid=config["grid"],
        metric=config["training"]["metric"],
        # The split columns are repetitions x folds; holdout mode (cv_folds 0) has one validation part.
        folds=max(config["training"]["cv_folds"], 1),
    run:
        write_importance(
            summary_csv=input[0],
            grid=params.grid,
            metric=params.metric,
            folds=params.folds,
            csv_path=output[0],
            log_path=log[0],
        )


rule export_tensorboard:
    input:
        # Every cell's files are read beside it: the summary is remade whenever a cell is.
        summary="results/summary.csv",
    output:
        # The experiment's config; beside it one run folder per cell, rewritten only when it changed.
        "results/tensorboard/events.out.tfevents.gridflow",
    log:
        "results/logs/export_tensorboard/export_tensorboard.log",
    params:
        grid=config["grid"],
        metric=config["training"]["metric"],
    run:
        write_tensorboard(
            summary_csv=input.summary,
            cells_dir="results/cells",
            grid=params.grid,
            metric=params.metric,
            output=output[0],
            log_path=log[0],
        )
