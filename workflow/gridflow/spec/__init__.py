"""The spec stage: what runs while Snakemake parses: config checks, the grid's cells, each cell's key.

Pure Python and NumPy; no TensorFlow.
"""
