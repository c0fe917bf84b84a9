"""One sentence on how every cell trained, for the captions of figures and tables.

Pure Python: runs while Snakemake parses.
"""

from __future__ import annotations

from collections.abc import Mapping


def describe_settings(config: Mapping) -> str:
    """One sentence on how every cell trained, for figure captions."""
    training, split, grid = config["training"], config["split"], config["grid"]
    folds = f"{training['cv_folds']} CV folds" if training["cv_folds"] else "one validation part"
    fixed = [f"{axis} {training[axis]}" for axis in ("batch_size", "learning_rate") if axis not in grid]
    return (
        f"Data set {config['dataset']['source']} ({config['dataset']['task']}, "
        f"{split['test_size']:.0%} held out as the test part), "
        f"{_preprocessing(config)}; model {config['model']['builder']}; "
        f"every cell trained {training['repetitions']} repetition(s) × ({folds} + one test model) "
        f"{_budget(config)} with {_optimizer(training, grid)}"
        + (f", {', '.join(fixed)}" if fixed else "")
        + f"; cells are ranked by the mean CV {training['metric']}{_selection(config['search'])}."
    )


def _preprocessing(config: Mapping) -> str:
    preprocessing = config["preprocessing"]
    if preprocessing["transformer"]:
        return f"features made by {preprocessing['transformer']}"
    return "the scaling of its own" if "scaler" in config["grid"] else f"{preprocessing['scaler']} scaling"


def _budget(config: Mapping) -> str:
    search = config["search"]
    if search["strategy"] == "halving":
        return f"for {search['min_epochs']} to at most {search['max_epochs']} epochs by successive halving"
    return "for the epochs of its own" if "epochs" in config["grid"] else f"for {config['training']['epochs']} epochs"


def _optimizer(training: Mapping, grid: Mapping) -> str:
    if "optimizer" in grid:
        return "the optimizer of its own"
    if training["optimizer"] != "sgd":
        return training["optimizer"]
    if "momentum" in grid:
        return "sgd with the momentum of its own"
    return "sgd" + (f" (momentum {training['momentum']})" if training["momentum"] else "")


def _selection(search: Mapping) -> str:
    if search["strategy"] == "random":
        return f" over a random sample of {search['n_cells']} cells (seed {search['seed']})"
    if search["strategy"] == "halving":
        return f", the best of the last round first (factor {search['factor']})"
    return ""
