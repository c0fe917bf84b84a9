rule plot_heatmap:
    input:
        summary="results/summary.csv",
        best="results/best.json",
    output:
        "results/figures/heatmap_{a}__{b}.png",
    log:
        "results/logs/plot_heatmap/{a}__{b}.log",
    params:
        grid=config["grid"],
        metric=config["training"]["metric"],
    run:
        plot_heatmap(input.summary, input.best, params.grid, wildcards.a, wildcards.b, params.metric, output[0], log[0])
