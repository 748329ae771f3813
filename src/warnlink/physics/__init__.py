"""warnlink.physics."""
