"""The speed benchmarks behind `warnlink bench`: one module per figure, a runner."""
