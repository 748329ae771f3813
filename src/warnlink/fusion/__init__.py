"""warnlink.fusion."""
