"""Example user builders for the tests."""

import keras


def anything(n_features, n_classes, **axes):
    """Accepts any axis (so only value rules apply)."""
    inputs = keras.Input(shape=(n_features,))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(inputs))


def picky(n_features, n_classes, units=4):
    """Rejects some values, as a user's builder may."""
    if units > 100:
        raise ValueError(f"units={units} is more than this model supports")
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))


class NumpyScale(keras.layers.Layer):
    """Calls back into NumPy: fine for model.fit, impossible to compile with XLA."""

    def call(self, x):
        import tensorflow as tf

        y = tf.numpy_function(lambda a: (a * 0.5).astype("float32"), [x], "float32")
        return tf.reshape(y, tf.shape(x))


def numpy_layer(n_features, n_classes, units=4):
    """A model XLA cannot compile; the fused loop runs it as a plain TensorFlow graph."""
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dense(units, activation="relu")(NumpyScale()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))


class Carry(keras.layers.Layer):
    """Keeps state from batch to batch, like a stateful RNN: the fused loop refuses it."""

    stateful = True

    def call(self, x):
        return x


def stateful_layer(n_features, n_classes, units=4):
    """A model the fused loop cannot take."""
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dense(units, activation="relu")(Carry()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))


def flaky(n_features, n_classes, units=4):
    """Kills its own process the first time it builds units=8 (like a lost node), then works.

    The marker file lives in the working directory, which every job shares.
    """
    import os
    from pathlib import Path

    marker = Path("flaky-crashed-once")
    if units == 8 and not marker.exists():
        marker.touch()
        os._exit(3)
    return picky(n_features, n_classes, units)
