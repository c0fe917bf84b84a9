"""gridflow: hyperparameter grid search for Keras models as a Snakemake workflow.

One subpackage per stage, each importing only from those before it (tests/test_structure.py):

- ``spec``: what runs while Snakemake parses: config checks, the grid's cells, each cell's key;
- ``data``: load a data set, check it can be split, split it once, scale per model;
- ``results``: a cell's record and arrays, the metrics, the summary's column grammar;
- ``train``: train a cell's models; the only stage that imports TensorFlow, and only when a cell trains;
- ``analysis``: the summary table, which axes matter, which cells tie with the best, the chance baseline;
- ``report``: tables, figures, TensorBoard runs and the console.

``errors``, ``io``, ``logs`` and ``per_job`` serve every stage.
"""

__version__ = "0.2.0"
