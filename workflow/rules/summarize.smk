rule summarize:
    input:
        cell_metrics_files(),
    output:
        summary="results/summary.csv",
        best="results/best.json",
    log:
        "results/logs/summarize/summarize.log",
    params:
        axes=AXES,
        metric=config["training"]["metric"],
    run:
        write_summary(input, params.axes, params.metric, output.summary, output.best, log[0])
