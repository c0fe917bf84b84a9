"""The data sets gridflow ships, by name, and the task each is for: part of the config's language."""

# Built-in data sets (shipped with scikit-learn, no download) and the task each is for.
BUILTIN_DATASETS = {"breast_cancer": "classification", "diabetes": "regression"}
