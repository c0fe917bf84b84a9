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
    ``training.<name>``) or ``model`` (a parameter of the builder).
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
    )
}
# Axes consumed by training; every other axis is passed to the model builder.
TRAINING_AXES = tuple(name for name, axis in KNOWN_AXES.items() if axis.goes_to == "training")


def split_axes(values: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split a cell's values into (training axes, model-builder axes)."""
    training = {k: v for k, v in values.items() if k in TRAINING_AXES}
    model = {k: v for k, v in values.items() if k not in TRAINING_AXES}
    return training, model


def training_value(values: Mapping[str, object], training: Mapping[str, object], name: str):
    """A training axis's value for a cell: its own, or the config's ``training.<name>`` when the grid lacks it."""
    return values.get(name, training[name])


def check_grid(grid: Mapping[str, list], builder_axes: tuple[str, ...] | None) -> None:
    """Check the grid's axes and values.

    ``builder_axes`` are the axes the model builder accepts; None means any.
    """
    allowed_axes = None if builder_axes is None else sorted(set(builder_axes) | set(TRAINING_AXES))
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
