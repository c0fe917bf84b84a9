from gridflow.analysis.halving import write_round


# A halving search's choice after each round: which cells go on to the next. A checkpoint, since the next
# round's cells follow from this file (round_cells in common.smk); a file, so a crash loses no round.
checkpoint select_round:
    input:
        # Each cell's models.npz is read beside its metrics file.
        metrics=round_metrics_files,
        split="results/data/split.npz",
    output:
        "results/halving/round-{round}.json",
    log:
        "results/logs/select_round/round-{round}.log",
    params:
        axes=AXES,
        metric=config["training"]["metric"],
        factor=SEARCH["factor"],
    run:
        write_round(
            metric_paths=list(input.metrics),
            split_path=input.split,
            axes=params.axes,
            metric=params.metric,
            factor=params.factor,
            output=output[0],
            log_path=log[0],
        )
