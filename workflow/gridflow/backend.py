"""Import Keras on TensorFlow once per process, with the job's thread count."""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_configured = False


def keras_runtime(threads: int):
    """Return the ``keras`` module, configuring TensorFlow on first use.

    TensorFlow's thread pools are process-wide and fixed once it starts, so
    the first caller's ``threads`` wins: a Slurm job gets its own allocation;
    a local run shares one process between concurrent cells.
    """
    global _configured
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        import tensorflow as tf

        if not _configured:
            tf.get_logger().setLevel("ERROR")
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow already ran ops in this process
                pass
            _configured = True
        import keras

    return keras
