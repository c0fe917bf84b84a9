"""The data stage: load a data set, check it can be split, split it once, scale per model. No TensorFlow."""
