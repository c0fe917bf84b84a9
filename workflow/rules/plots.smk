rule plot_heatmap:
    input:
        summary="results/summary.csv",
        best="results/best.json",
    output:
        png=report(
            "results/figures/heatmaps/{flavour}/{a}__{b}.png",
            caption="../report/heatmap.rst",
            category="Heatmaps",
            subcategory="{flavour}",
            labels={"axes": "{a} × {b}", "flavour": "{flavour}"},
        ),
        svg="results/figures/heatmaps/{flavour}/{a}__{b}.svg",
    log:
        "results/logs/plot_heatmap/{flavour}/{a}__{b}.log",
    params:
        grid=config["grid"],
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        plot_heatmap(
            input.summary,
            input.best,
            params.grid,
            wildcards.a,
            wildcards.b,
            params.metric,
            wildcards.flavour,
            output,
            log[0],
        )


rule plot_marginal_effect:
    input:
        "results/summary.csv",
    output:
        png=report(
            "results/figures/effects/{axis}.png",
            caption="../report/marginal_effect.rst",
            category="Marginal effects",
            labels={"axis": "{axis}"},
        ),
        svg="results/figures/effects/{axis}.svg",
    log:
        "results/logs/plot_marginal_effect/{axis}.log",
    params:
        grid=config["grid"],
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        plot_marginal_effect(input[0], params.grid, wildcards.axis, params.metric, output, log[0])


rule plot_learning_curves:
    input:
        summary="results/summary.csv",
        metrics=cell_metrics_files(),
    output:
        png=report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Learning curves",
            labels={"cells": f"top {config['figures']['curves_top']}"},
        ),
        svg="results/figures/learning_curves.svg",
    log:
        "results/logs/plot_learning_curves/plot_learning_curves.log",
    params:
        cells=cell_ids(),
        top=config["figures"]["curves_top"],
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        plot_learning_curves(input.summary, params.cells, input.metrics, params.top, params.metric, output, log[0])


rule plot_cost:
    input:
        "results/summary.csv",
    output:
        png=report(
            "results/figures/cost.png",
            caption="../report/cost.rst",
            category="Cost",
            labels={"figure": "time and size"},
        ),
        svg="results/figures/cost.svg",
    log:
        "results/logs/plot_cost/plot_cost.log",
    params:
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        plot_cost(input[0], params.metric, output, log[0])
