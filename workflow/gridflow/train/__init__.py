"""The train stage: the only part of gridflow that imports TensorFlow, and only when a cell trains.

Importing this package (or ``cell``, ``trainers``, ``plan``, ``fitting``,
``state``, ``workers``, ``kept``, ``caches``, ``lru``) stays light;
``backend``, ``builders``, ``seeding``, ``fingerprint``, ``fused``, ``loop``,
``optimizer`` and ``keras_fit`` import Keras and TensorFlow.
"""
