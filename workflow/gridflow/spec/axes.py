"""The grid axes gridflow knows: where each value goes, what it allows, and whether it shares compiled loops.

The one place that says what an axis is. Config checks, training, the cell
jobs' resource estimates and the tests of the compiled-loop cache read it.
Pure Python (no TensorFlow): runs while Snakemake parses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gridflow.errors import ConfigError
from gridflow.spec import grid as gridlib

SCALERS = ("standard", "minmax", "none")
IMPUTE = ("median", "mean", "constant")

# Activation names Keras 3 resolves with keras.activations.get (checked by a test).
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)  # fmt: skip


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _positive_number(v):
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0


def _rate(v):
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1


@dataclass(frozen=True)
class Axis:
    """A grid axis with a meaning of its own.

    ``goes_to``: ``training`` (a training setting, whose config default is
    ``training.<name>``), ``preprocessing`` (the built-in preprocessing's
    ``preprocessing.<name>``) or ``model`` (a parameter of the builder).
    ``loop_input``: the fused loop takes the value as an input, so cells that
    differ only in it share one compiled loop (tested).
    """

    name: str
    goes_to: str
    allowed: str
    check: Callable[[object], bool]
    loop_input: bool


KNOWN_AXES = {
    axis.name: axis
    for axis in (
        # The epochs are no part of the compiled loop: it runs one epoch a call.
        Axis("epochs", "training", "a whole number >= 1", _positive_int, loop_input=True),
        Axis("batch_size", "training", "a whole number >= 1", _positive_int, loop_input=False),
        Axis("learning_rate", "training", "a number > 0", _positive_number, loop_input=True),
        Axis("optimizer", "training", "one of sgd, adam", lambda v: v in ("sgd", "adam"), loop_input=False),
        # Momentum's value is an input of the loop, whether SGD has any is not: 0 and 0.9 are two loops.
        Axis("momentum", "training", "a number in [0, 1)", _rate, loop_input=False),
        Axis("hidden_units", "model", "a whole number >= 1", _positive_int, loop_input=False),
        Axis("dropout", "model", "a number in [0, 1)", _rate, loop_input=True),
        Axis("activation", "model", "one of " + ", ".join(ACTIVATIONS), lambda v: v in ACTIVATIONS, loop_input=False),
        # The features' values are the loop's data, not part of it.
        Axis("scaler", "preprocessing", "one of " + ", ".join(SCALERS), lambda v: v in SCALERS, loop_input=True),
        Axis("impute", "preprocessing", "one of " + ", ".join(IMPUTE), lambda v: v in IMPUTE, loop_input=True),
    )
}
# Axes consumed by training, and by the built-in preprocessing; every other axis is passed to the model
# builder (and to a user's transformer that takes it).
TRAINING_AXES = tuple(name for name, axis in KNOWN_AXES.items() if axis.goes_to == "training")
PREPROCESSING_AXES = tuple(name for name, axis in KNOWN_AXES.items() if axis.goes_to == "preprocessing")


def split_axes(values: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split a cell's values into (training axes, the others: the built-in preprocessing's and the builder's)."""
    training = {k: v for k, v in values.items() if k in TRAINING_AXES}
    model = {k: v for k, v in values.items() if k not in TRAINING_AXES}
    return training, model


def route_axes(
    values: Mapping[str, object], *, builder_takes: tuple | None, transformer_takes: tuple | None | bool
) -> tuple[dict[str, object], dict[str, object]]:
    """(preprocessing axes, builder axes) of a cell's values; training axes are in neither.

    ``builder_takes``/``transformer_takes``: the parameters of the builder and
    of the user's transformer function (None: ``**kwargs``, any); False when
    there is no transformer. The built-in preprocessing axes go to
    preprocessing; every other axis to each function that takes it.
    """
    _, rest = split_axes(values)
    preprocessing = {k: v for k, v in rest.items() if k in PREPROCESSING_AXES}
    rest = {k: v for k, v in rest.items() if k not in PREPROCESSING_AXES}
    if transformer_takes is False:
        return preprocessing, rest
    preprocessing |= {k: v for k, v in rest.items() if transformer_takes is None or k in transformer_takes}
    return preprocessing, {k: v for k, v in rest.items() if builder_takes is None or k in builder_takes}


def training_value(values: Mapping[str, object], training: Mapping[str, object], name: str):
    """A training axis's value for a cell: its own, or the config's ``training.<name>`` when the grid lacks it."""
    return values.get(name, training[name])


def check_grid(grid: Mapping[str, list], builder_axes: tuple[str, ...] | None, transformer_axes: tuple = ()) -> None:
    """Check the grid's axes and values.

    ``builder_axes``, ``transformer_axes``: the axes the model builder and a
    user's transformer accept; None means any.
    """
    takers = (builder_axes, transformer_axes)
    allowed_axes = (
        None if None in takers else sorted({*builder_axes, *transformer_axes, *TRAINING_AXES, *PREPROCESSING_AXES})
    )
    for axis, values in grid.items():
        key = f"grid.{axis}"
        if allowed_axes is not None and axis not in allowed_axes:
            raise ConfigError(f"unknown grid axis '{axis}'; allowed axes: {', '.join(allowed_axes)}")
        seen: dict[str, object] = {}
        for value in values:
            try:
                name = gridlib.format_value(value)
            except ValueError as error:
                raise ConfigError(f"config key '{key}' has value {json.dumps(value)}; {error}") from None
            if name in seen:
                first, again = json.dumps(seen[name]), json.dumps(value)
                what = f"{again} twice" if first == again else f"{again}, the same value as {first}"
                raise ConfigError(f"config key '{key}' lists {what}; allowed: distinct values")
            seen[name] = value
            rule = KNOWN_AXES.get(axis)
            if rule and not rule.check(gridlib.canonical_value(value)):
                raise ConfigError(f"config key '{key}' has value {json.dumps(value)}; allowed: {rule.allowed}")
