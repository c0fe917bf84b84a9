rule summarize:
    input:
        cell_metrics_files(),
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
        axes=AXES,
        metric=config["training"]["metric"],
    run:
        write_summary(input, params.axes, params.metric, output.summary, output.best, log[0])
