"""The report stage: tables, figures, TensorBoard runs and the console, all read from the summary and records."""
