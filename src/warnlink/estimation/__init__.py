"""warnlink.estimation."""
