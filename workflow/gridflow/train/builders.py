"""Model builders: the built-in MLP and a user's ``package.module:function``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import keras

from gridflow.spec.signature import builder_target


def mlp(
    *,
    n_features: int,
    n_classes: int,
    hidden_units: int = 32,
    activation: str = "relu",
    dropout: float = 0.0,
    task: str = "classification",
):
    """The seed blog post's network: Input -> Dropout -> Dense(hidden) -> Dense(softmax), or for
    regression a linear Dense(1) at the end."""
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dropout(rate=dropout)(inputs)
    hidden = keras.layers.Dense(hidden_units, activation=activation)(hidden)
    if task == "regression":
        outputs = keras.layers.Dense(1)(hidden)
    else:
        outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
    return keras.Model(inputs=inputs, outputs=outputs)


def resolve_builder(spec: str) -> Callable[..., keras.Model]:
    """Return the builder named by ``mlp`` or ``package.module:function``."""
    module_name, func_name = builder_target(spec)
    return getattr(importlib.import_module(module_name), func_name)


def check_regression_output(model: keras.Model) -> None:
    """A regression model must end in one unit without a squashing activation, or it trains and learns nothing."""
    units = model.output_shape[-1]
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    if units != 1 or activation in ("softmax", "sigmoid"):
        raise ValueError(
            f"for dataset.task regression the builder must return a model ending in one linear unit; it ends in "
            f"{units} unit(s) with activation {activation} (a builder with a task parameter is told the task)"
        )
