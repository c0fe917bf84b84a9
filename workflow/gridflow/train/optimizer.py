"""SGD (with or without momentum) and Adam on stacked model weights, written out as Keras computes them."""

from __future__ import annotations

import tensorflow as tf


def per_model(flags: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape a [models] vector so it broadcasts against a stacked tensor."""
    return tf.reshape(flags, [-1] + [1] * (like.shape.rank - 1))


class Optimizer:
    """SGD (optionally with momentum) or Adam on stacked weights, as Keras does it.

    Written out so that each model's update can be dropped on its own (a
    padding step past its data, or a step that would diverge) without touching
    its state. The learning rate and momentum are inputs, so one compiled loop
    serves every value of them.
    """

    def __init__(self, name: str, momentum: bool):
        self.name = name
        self.momentum = momentum

    def slot_shapes(self, trainable_shapes, models: int) -> dict[str, list[tuple]]:
        """The stacked shapes of the slots ``init_slots`` makes for weights of ``trainable_shapes`` (one model's)."""
        stacked = [(models, *shape) for shape in trainable_shapes]
        if self.name == "adam":
            return {"m": stacked, "v": stacked, "t": [(models,)]}
        return {"m": stacked} if self.momentum else {}

    def init_slots(self, trainable):
        """The state before the first step, as name -> list of stacked tensors (Adam's step count is a list of one)."""
        if self.name == "adam":
            zeros = [tf.zeros_like(v) for v in trainable]
            return {"m": zeros, "v": [tf.zeros_like(v) for v in trainable], "t": [tf.zeros([trainable[0].shape[0]])]}
        if self.momentum:
            return {"m": [tf.zeros_like(v) for v in trainable]}
        return {}

    def apply(self, trainable, grads, slots, data):
        """One update of every model; the caller keeps or drops it per model."""
        lr = data["learning_rate"]
        if self.name == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            t = slots["t"][0] + 1.0
            lr_t = lr * tf.sqrt(1 - b2**t) / (1 - b1**t)
            m = [m + (g - m) * (1 - b1) for g, m in zip(grads, slots["m"])]
            v = [v + (tf.square(g) - v) * (1 - b2) for g, v in zip(grads, slots["v"])]
            w = [w - per_model(lr_t, w) * mi / (tf.sqrt(vi) + eps) for w, mi, vi in zip(trainable, m, v)]
            return w, {"m": m, "v": v, "t": [t]}
        if self.momentum:
            m = [data["momentum"] * m - lr * g for g, m in zip(grads, slots["m"])]
            return [w + mi for w, mi in zip(trainable, m)], {"m": m}
        return [w - lr * g for w, g in zip(trainable, grads)], slots
