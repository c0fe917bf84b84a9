from gridflow.report.figures.cost import plot_cost
from gridflow.report.figures.curves import plot_learning_curves
from gridflow.report.figures.effects import plot_marginal_effect
from gridflow.report.figures.heatmaps import plot_heatmap
from gridflow.report.figures.importance import plot_importance
from gridflow.report.figures.pool import draw
from gridflow.report.figures.rounds import plot_rounds


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
        draw(
            plot_heatmap,
            processes=figure_processes(),
            summary_csv=input.summary,
            best_json=input.best,
            grid=params.grid,
            a=wildcards.a,
            b=wildcards.b,
            metric=params.metric,
            flavour=wildcards.flavour,
            outputs=list(output),
            log_path=log[0],
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
        draw(
            plot_marginal_effect,
            processes=figure_processes(),
            summary_csv=input[0],
            grid=params.grid,
            axis=wildcards.axis,
            metric=params.metric,
            outputs=list(output),
            log_path=log[0],
        )


rule plot_learning_curves:
    input:
        # The top cells' files are read beside it: the summary is remade whenever a cell is.
        summary="results/summary.csv",
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
        top=config["figures"]["curves_top"],
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        draw(
            plot_learning_curves,
            processes=figure_processes(),
            summary_csv=input.summary,
            cells_dir="results/cells",
            top=params.top,
            metric=params.metric,
            outputs=list(output),
            log_path=log[0],
        )


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
        draw(
            plot_cost,
            processes=figure_processes(),
            summary_csv=input[0],
            metric=params.metric,
            outputs=list(output),
            log_path=log[0],
        )


rule plot_importance:
    input:
        "results/importance.csv",
    output:
        png=report(
            "results/figures/importance.png",
            caption="../report/importance.rst",
            category="Importance",
            labels={"figure": "which axes matter"},
        ),
        svg="results/figures/importance.svg",
    log:
        "results/logs/plot_importance/plot_importance.log",
    params:
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        draw(
            plot_importance,
            processes=figure_processes(),
            importance_csv=input[0],
            metric=params.metric,
            outputs=list(output),
            log_path=log[0],
        )


# Only a halving search has rounds to draw (figure_files lists this figure then).
rule plot_rounds:
    input:
        summary="results/summary.csv",
        best="results/best.json",
    output:
        png=report(
            "results/figures/rounds.png",
            caption="../report/rounds.rst",
            category="Halving",
            labels={"figure": "rounds"},
        ),
        svg="results/figures/rounds.svg",
    log:
        "results/logs/plot_rounds/plot_rounds.log",
    params:
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        draw(
            plot_rounds,
            processes=figure_processes(),
            summary_csv=input.summary,
            best_json=input.best,
            metric=params.metric,
            outputs=list(output),
            log_path=log[0],
        )
