"""warnlink.sharing."""
