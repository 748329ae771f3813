"""warnlink.transport."""
