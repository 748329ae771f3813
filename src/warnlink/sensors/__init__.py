"""Sensors and what they measure: sites, visibility and measurement models.

Shared by `warnlink.sim` (which draws noisy measurements from a flown truth) and
`warnlink.estimation` (which inverts them), so neither imports the other.
"""
