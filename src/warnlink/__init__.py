"""warnlink: real-time sharing of missile warning data between allies.

Allied parties share launch reports, tracks and impact predictions through bilateral
links; a relay connects links and forwards only what each originator released.
"""

__version__ = "0.1.0"
