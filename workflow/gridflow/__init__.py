"""gridflow: hyperparameter grid search for Keras models as a Snakemake workflow.

Only ``fused``, ``model``, ``train`` and ``backend`` import TensorFlow; every
other module is light enough to import while Snakemake parses the workflow.
"""

__version__ = "0.2.0"
