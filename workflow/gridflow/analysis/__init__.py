"""The analysis stage: the cells' records as the summary table, which axes matter, which cells tie with the best."""
