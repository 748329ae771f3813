"""warnlink.sim."""
