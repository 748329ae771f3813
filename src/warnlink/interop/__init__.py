"""Outputs for other systems: Cursor-on-Target for TAK, GeoJSON and KML of an event."""
