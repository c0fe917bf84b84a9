# gridflow: hyperparameter grid search for Keras models, one Snakemake job per cell.
# This file is the table of contents; the rules live in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/execution.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/summarize.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/tables.smk"


rule all:
    default_target: True
    input:
        "results/summary.csv",
        "results/best.json",
        "results/importance.csv",
        export_files(),
        "results/tables/summary.html",
        "results/tables/best_cell.html",
        figure_files(),


onstart:
    start_progress()


# A run's last line on its cells, if the last one shown is out of date
# (gridflow.report.progress); figures the current config no longer makes (a
# removed axis or flavour) would look current: drop them once a run has succeeded.
onsuccess:
    show_final_progress()
    for path in remove_unlisted("results/figures", figure_files(), (".png", ".svg")):
        print(f"gridflow: removed {path}: not a figure of this config")


onerror:
    show_final_progress()
