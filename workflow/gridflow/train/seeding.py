"""Seeded models: each model's initial weights and dropout seeds follow from its own seed alone.

Cells that share an architecture share their initial states, cached per process.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from unittest import mock

import keras
import numpy as np
from keras.src.backend.common import global_state

from gridflow.train import caches
from gridflow.train.builders import check_regression_output, resolve_builder
from gridflow.train.fingerprint import architecture_fingerprint
from gridflow.train.lru import BoundedCache

# Keras seeds weights, dropout and fit's shuffling from process-wide state, and
# TensorFlow names what it traces from a process-wide counter, so whatever sets
# or draws those holds this lock: each model's start then depends on its own
# seed alone, and each traced loop on its own inputs alone.
seed_lock = threading.RLock()


@contextlib.contextmanager
def _dropout_always_seeded():
    """Give every ``keras.layers.Dropout`` built in the block its random state, also at rate 0.

    Keras leaves it out at rate 0, which would make a rate-0 model's variables
    (and the seeds its other layers draw) differ from the same model at rate
    0.3. With it, every rate gives the same initial weights and one compiled
    loop serves all rates (the rate is an input of the loop).
    """
    original = keras.layers.Dropout.__init__

    def init(self, rate, *args, **kwargs):
        original(self, rate if rate > 0 else 0.5, *args, **kwargs)
        self.rate = rate

    with mock.patch.object(keras.layers.Dropout, "__init__", init):
        yield


@contextlib.contextmanager
def _fresh_layer_names():
    """Number Keras' automatic layer names from scratch in the block ("dense", "dense_1", ...).

    Otherwise names count up over a process's life, and they reach the
    compiled program (as op names), so the same loop would compile to a
    different program in another process and miss the on-disk cache.
    """
    saved = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


def build_seeded(
    builder: Callable[..., keras.Model],
    axes: Mapping[str, object],
    *,
    n_features: int,
    n_classes: int,
    seed: int,
    task: str = "classification",
) -> keras.Model:
    """Build one model whose initial weights and dropout seeds follow from ``seed`` alone.

    A builder with a ``task`` parameter is told the task; for regression ``n_classes`` is 1 (one output).
    """
    inputs = {"n_features": n_features, "n_classes": n_classes}
    if "task" in inspect.signature(builder).parameters:
        inputs["task"] = task
    with seed_lock, _dropout_always_seeded(), _fresh_layer_names():
        keras.utils.set_random_seed(seed)
        model = builder(**inputs, **axes)
        if not isinstance(model, keras.Model):
            raise TypeError(f"the builder returned {type(model).__name__}, not a keras.Model")
        if not model.built:  # subclassed models create weights on first call
            model(np.zeros((1, n_features), dtype=np.float32))
    if task == "regression":
        check_regression_output(model)
    return model


@dataclass(frozen=True)
class ModelState:
    """The variable values of one model, in ``trainable_variables`` / ``non_trainable_variables`` order."""

    trainable: tuple[np.ndarray, ...]
    non_trainable: tuple[np.ndarray, ...]

    def equals(self, other: ModelState) -> bool:
        """Whether both hold the same values, bit for bit."""
        mine, theirs = self.trainable + self.non_trainable, other.trainable + other.non_trainable
        return len(mine) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(mine, theirs))

    @classmethod
    def of(cls, model: keras.Model) -> ModelState:
        return cls(
            tuple(np.array(v.numpy()) for v in model.trainable_variables),
            tuple(np.array(v.numpy()) for v in model.non_trainable_variables),
        )


@dataclass(frozen=True)
class SeededModels:
    """A cell's template model (its architecture and dropout rates), its fingerprint, and one initial state per seed."""

    template: keras.Model
    fingerprint: str | None
    states: list[ModelState]


# Templates (a cell's model, for its architecture and dropout rates) depend on
# the builder, its axis values and the first seed; initial weights only on the
# architecture and the seeds (not on the learning rate, batch size or dropout
# rate), so cells that share an architecture fingerprint share them.
_templates = BoundedCache(256)


_states = BoundedCache(32)


def seeded_models(
    spec: str,
    axes: Mapping[str, object],
    *,
    n_features: int,
    n_classes: int,
    seeds: Sequence[int],
    task: str = "classification",
):
    """The template model for these axes and the initial state of one model per seed.

    The same arguments give the same values whether or not they come from the
    caches: states are keyed by the architecture's fingerprint (or, where
    there is none, the builder and every axis value) and the seeds, and a
    cached set is used only if its first state equals this cell's template.
    """
    builder = resolve_builder(spec)
    template_key = (spec, tuple(sorted(axes.items())), n_features, n_classes, task, seeds[0])
    cached = _templates.get(template_key)
    if cached is None:
        template = build_seeded(builder, axes, n_features=n_features, n_classes=n_classes, seed=seeds[0], task=task)
        cached = (template, architecture_fingerprint(template))
        _templates.put(template_key, cached)
    template, fingerprint = cached
    key = (fingerprint or template_key[:2], n_features, n_classes, task, tuple(seeds))
    states = _states.get(key)
    if states is not None and not states[0].equals(ModelState.of(template)):
        states = None  # a builder that sets weights from its axes: same architecture, other start
    if states is None:
        models = [template] + [
            build_seeded(builder, axes, n_features=n_features, n_classes=n_classes, seed=s, task=task)
            for s in seeds[1:]
        ]
        states = [ModelState.of(m) for m in models]
        _states.put(key, states)
    return SeededModels(template, fingerprint, states)


def clear_model_caches() -> None:
    """Forget every cached template and initial state (benchmarks and tests measure cold starts with it)."""
    _templates.clear()
    _states.clear()


caches.register(clear_model_caches)
