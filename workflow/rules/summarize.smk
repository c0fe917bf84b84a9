from gridflow import __version__ as gridflow_version
from gridflow.analysis.summary import write_summary


rule summarize:
    input:
        # Each cell's models.npz, which the same job wrote, is read beside its metrics file; declaring only
        # one file a cell halves what Snakemake matches per cell when it plans a large grid.
        metrics=summary_inputs,
        split="results/data/split.npz",
    output:
        summary=report(
            "results/summary.csv",
            caption="../report/summary_csv.rst",
            category="Results",
            labels={"table": "summary.csv (download)"},
        ),
        best="results/best.json",
    log:
        "results/logs/summarize/summarize.log",
    params:
        # A new gridflow version may add columns: redo the summary (not the cells) after an upgrade.
        gridflow=gridflow_version,
        axes=SUMMARY_AXES,
        metric=config["training"]["metric"],
        alpha=config["analysis"]["alpha"],
        search=SEARCH_USED,
        budgets=BUDGETS if HALVING else None,
    run:
        write_summary(
            metric_paths=list(input.metrics),
            axes=params.axes,
            metric=params.metric,
            alpha=params.alpha,
            search=params.search,
            budgets=params.budgets,
            split_path=input.split,
            csv_path=output.summary,
            best_path=output.best,
            log_path=log[0],
            processes=scoring_processes(),
        )
