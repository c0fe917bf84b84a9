"""One sentence on how every cell trained, for the captions of figures and tables.

Pure Python: runs while Snakemake parses.
"""

from __future__ import annotations

from collections.abc import Mapping

from gridflow.spec.axes import TRAINING_AXES


def describe_settings(config: Mapping) -> str:
    """One sentence on how every cell trained, for figure captions."""
    training, split = config["training"], config["split"]
    folds = f"{training['cv_folds']} CV folds" if training["cv_folds"] else "one validation part"
    fixed = [f"{axis} {training[axis]}" for axis in TRAINING_AXES if axis not in config["grid"]]
    optimizer = training["optimizer"] + (f" (momentum {training['momentum']})" if training["momentum"] else "")
    return (
        f"Data set {config['dataset']['source']} ({config['dataset']['task']}, "
        f"{split['test_size']:.0%} held out as the test part), "
        f"{config['preprocessing']['scaler']} scaling; model {config['model']['builder']}; "
        f"every cell trained {training['repetitions']} repetition(s) × ({folds} + one test model) "
        f"for {training['epochs']} epochs with {optimizer}"
        + (f", {', '.join(fixed)}" if fixed else "")
        + f"; cells are ranked by the mean CV {training['metric']}."
    )
