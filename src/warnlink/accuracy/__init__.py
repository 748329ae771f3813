"""Accuracy benchmark: the pipeline's figures against truth, over scenarios and seeds."""
