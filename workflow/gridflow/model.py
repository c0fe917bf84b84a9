"""Model builders: the built-in MLP and a user's ``package.module:function``."""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

# Keras seeds weights, dropout and fit's shuffling from process-wide state, so
# whatever sets and draws those seeds holds this lock: each model's start then
# depends on its own seed alone.
seed_lock = threading.Lock()


def mlp(n_features: int, n_classes: int, hidden_units: int = 32, activation: str = "relu", dropout: float = 0.0):
    """The seed blog post's network: Input -> Dropout -> Dense(hidden) -> Dense(softmax)."""
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dropout(rate=dropout)(inputs)
    hidden = keras.layers.Dense(hidden_units, activation=activation)(hidden)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
    return keras.Model(inputs=inputs, outputs=outputs)


def resolve_builder(spec: str) -> Callable[..., keras.Model]:
    """Return the builder named by ``mlp`` or ``package.module:function``."""
    if spec == "mlp":
        return mlp
    module_name, func_name = spec.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def build_seeded(
    builder: Callable[..., keras.Model], axes: Mapping[str, object], n_features: int, n_classes: int, seed: int
) -> keras.Model:
    """Build one model whose initial weights and dropout seeds follow from ``seed`` alone."""
    with seed_lock:
        keras.utils.set_random_seed(seed)
        model = builder(n_features=n_features, n_classes=n_classes, **axes)
        if not isinstance(model, keras.Model):
            raise TypeError(f"the builder returned {type(model).__name__}, not a keras.Model")
        if not model.built:  # subclassed models create weights on first call
            model(np.zeros((1, n_features), dtype=np.float32))
    return model


# Initial weights depend only on the architecture and the seeds, not on the
# learning rate or batch size, so cells that differ only there share them.
_STATES_CACHE_SIZE = 32
_states: OrderedDict = OrderedDict()
_states_lock = threading.Lock()


def seeded_states(spec: str, axes: Mapping[str, object], n_features: int, n_classes: int, seeds: Sequence[int]):
    """A template model and the initial state of one model per seed.

    Returns (template, [fused.ModelState]); the same arguments give the same
    values whether or not they come from the cache.
    """
    from gridflow.fused import ModelState

    key = (spec, tuple(sorted(axes.items())), n_features, n_classes, tuple(seeds))
    with _states_lock:
        hit = _states.get(key)
        if hit is not None:
            _states.move_to_end(key)
            return hit
    builder = resolve_builder(spec)
    models = [build_seeded(builder, axes, n_features, n_classes, seed) for seed in seeds]
    entry = (models[0], [ModelState.of(m) for m in models])
    with _states_lock:
        _states[key] = entry
        while len(_states) > _STATES_CACHE_SIZE:
            _states.popitem(last=False)
    return entry
