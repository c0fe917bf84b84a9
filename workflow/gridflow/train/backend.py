"""Import Keras on TensorFlow once per process, with the job's thread count and the on-disk loop cache."""

from __future__ import annotations

import hashlib
import os
import platform
import threading
from importlib.metadata import version
from pathlib import Path

_lock = threading.Lock()
_configured = False

# Where compiled training loops are kept between processes and runs, relative
# to the working directory (which every job shares, also on a cluster).
# GRIDFLOW_XLA_CACHE=off turns the cache off; any other value is the folder.
CACHE_ROOT = Path(".snakemake/gridflow/xla-cache")


def machine_tag() -> str:
    """What a compiled program depends on besides itself: TensorFlow's and Keras' versions, the CPU's features,
    XLA's flags.

    Programs compiled under another tag are never looked at, so a cache on a
    shared file system serves every kind of node without handing one node
    code for another's CPU.
    """
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):  # x86, ARM
                flags = line
                break
    except OSError:
        flags = platform.processor()
    seen = f"{platform.machine()}|{flags}|{os.environ.get('XLA_FLAGS', '')}|keras {version('keras')}"
    digest = hashlib.sha256(seen.encode()).hexdigest()
    return f"tensorflow-{version('tensorflow')}-{platform.machine()}-{digest[:12]}"


def xla_cache_dir() -> Path | None:
    """This machine's folder of compiled loops, or None when the cache is off."""
    setting = os.environ.get("GRIDFLOW_XLA_CACHE", "")
    if setting.lower() == "off":
        return None
    return (Path(setting) if setting else CACHE_ROOT).resolve() / machine_tag()


def keras_runtime(threads: int):
    """Return the ``keras`` module, configuring TensorFlow on first use.

    TensorFlow's thread pools are process-wide and fixed once it starts, so
    the first caller's ``threads`` wins. XLA's persistent cache is pointed at
    ``xla_cache_dir()`` before TensorFlow loads (it reads the flag once).
    """
    global _configured
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        if not _configured and "tensorflow" not in __import__("sys").modules:
            cache = xla_cache_dir()
            flags = os.environ.get("TF_XLA_FLAGS", "")
            if cache is not None and "persistent_cache_directory" not in flags:
                cache.mkdir(parents=True, exist_ok=True)
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


def active_xla_cache() -> Path | None:
    """The folder XLA's persistent cache uses in this process, if any."""
    for flag in os.environ.get("TF_XLA_FLAGS", "").split():
        if flag.startswith("--tf_xla_persistent_cache_directory="):
            return Path(flag.split("=", 1)[1])
    return None
