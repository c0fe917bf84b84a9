# gridflow: hyperparameter grid search for Keras models, one Snakemake job per cell.
# This file is the table of contents; the rules live in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/summarize.smk"
include: "workflow/rules/plots.smk"


rule all:
    default_target: True
    input:
        "results/summary.csv",
        "results/best.json",
        heatmap_files(),
