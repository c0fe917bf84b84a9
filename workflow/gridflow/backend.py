"""Import Keras on TensorFlow once per process, with the job's thread count."""

from __future__ import annotations

import os
import threading
from importlib.metadata import version
from pathlib import Path

_lock = threading.Lock()
_configured = False


def xla_cache_dir() -> Path:
    """Where compiled XLA programs are kept between processes, per TensorFlow version.

    Relative to the working directory, which Snakemake jobs share (also on a
    cluster's shared file system).
    """
    return Path(".snakemake/gridflow") / f"xla-cache-tensorflow-{version('tensorflow')}"


def keras_runtime(threads: int):
    """Return the ``keras`` module, configuring TensorFlow on first use.

    TensorFlow's thread pools are process-wide and fixed once it starts, so
    the first caller's ``threads`` wins. XLA's persistent cache lets a new
    process load a program another process compiled (same graph, same shapes)
    instead of compiling it again; entries are keyed by the program itself.
    """
    global _configured
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        if not _configured and "tensorflow" not in __import__("sys").modules:
            cache = xla_cache_dir().resolve()
            cache.mkdir(parents=True, exist_ok=True)
            flags = os.environ.get("TF_XLA_FLAGS", "")
            if "persistent_cache_directory" not in flags:
                os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={cache}".strip()
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
