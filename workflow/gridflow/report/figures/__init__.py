"""The figures of a run: heatmaps, marginal effects, learning curves and cost, one module each."""
