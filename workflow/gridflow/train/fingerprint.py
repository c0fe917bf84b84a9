"""The fingerprint that says which models share a compiled training loop."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import keras


def runtime_dropout_layers(model: keras.Model) -> list[keras.layers.Dropout]:
    """The model's plain ``keras.layers.Dropout`` layers, whose rate the fused loop takes as an input."""
    return [layer for layer in model._flatten_layers(include_self=False) if type(layer) is keras.layers.Dropout]


def architecture_fingerprint(model: keras.Model) -> str | None:
    """A stable hash of everything a compiled training loop bakes in, or None if unknowable.

    Made of the model's config with its layers' names made positional and
    ``Dropout`` rates left out (they are inputs of the loop), and its variables'
    shapes and dtypes. Two models with the same fingerprint compute the same
    function of (weights, inputs, dropout rates). None when the model is
    subclassed, holds a layer that is not Keras' own or is a ``Lambda``, or
    refers to any function or object from outside Keras (a custom activation:
    its config gives only its name, not the values it closes over).
    """
    layers = list(model._flatten_layers(include_self=False))
    kinds = [type(model)] + [type(layer) for layer in layers]
    if type(model).__name__ not in ("Functional", "Sequential") or any(
        not k.__module__.startswith("keras.") or k is keras.layers.Lambda for k in kinds
    ):
        return None
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError, ValueError):
        return None
    if _refers_outside_keras(config):
        return None
    # Positional names for the layers only (a dtype policy's "name" stays itself).
    aliases = {layer.name: f"#layer{i}" for i, layer in enumerate([model, *layers])}
    variables = [(tuple(v.shape), str(v.dtype)) for v in model.trainable_variables + model.non_trainable_variables]
    text = json.dumps([_normalized(config, aliases), variables], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# Config keys whose strings name layers: a layer's own name and the references between layers.
_LAYER_REFERENCES = ("name", "keras_history", "input_layers", "output_layers")


def _refers_outside_keras(node) -> bool:
    """Whether a config holds a function, a lambda or an object of a module that is not Keras'."""
    if isinstance(node, dict):
        module = node.get("module")
        if node.get("class_name") in ("function", "__lambda__") or (
            isinstance(module, str) and not module.startswith("keras")
        ):
            return True
        return any(_refers_outside_keras(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_refers_outside_keras(v) for v in node)
    return False


def _normalized(node, aliases: Mapping[str, str], naming: bool = False):
    """The config with layer names replaced by aliases and Dropout rates by a placeholder.

    ``naming``: whether ``node`` sits under a key that names layers.
    """
    if isinstance(node, dict):
        out = {k: _normalized(v, aliases, naming or k in _LAYER_REFERENCES) for k, v in node.items()}
        if node.get("class_name") == "Dropout" and isinstance(out.get("config"), dict):
            out["config"]["rate"] = "input"
        return out
    if isinstance(node, list | tuple):
        return [_normalized(v, aliases, naming) for v in node]
    if naming and isinstance(node, str):
        return aliases.get(node, node)
    return node
