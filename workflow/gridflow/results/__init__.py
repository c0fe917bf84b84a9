"""What a run keeps: a cell's record, the metrics computed from it, and the summary's column grammar."""
