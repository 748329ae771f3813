"""warnlink.geo."""
