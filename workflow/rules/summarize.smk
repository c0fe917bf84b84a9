rule summarize:
    input:
        cell_metrics_files(),
    output:
        summary="results/summary.csv",
        best="results/best.json",
    params:
        axes=AXES,
        metric=config["training"]["metric"],
    log:
        "results/logs/summarize/summarize.log",
    run:
        write_summary(input, params.axes, params.metric, output.summary, output.best, log[0])
