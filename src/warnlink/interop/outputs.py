"""A party's outputs written to a folder: every format of `interop.formats`.

Layout under the folder: ``<party>/cap/<identifier>.xml`` (every alert message sent),
``<party>/cot/<uid>.xml`` (the CoT events of every event, as of the party's clock), and
``<party>/events/<event_id>.geojson`` and ``.kml``.
"""

from __future__ import annotations

from pathlib import Path

from warnlink.interop.formats import FORMATS
from warnlink.interop.party import PartyView
from warnlink.interop.projection import project_party
from warnlink.transport.private import write_private


def write_party_outputs(folder: Path, view: PartyView) -> int:
    """Write one party's outputs under ``folder/<party>``; returns the number of files."""
    projection = project_party(view)
    base = folder / view.party
    files: dict[Path, bytes] = {}
    for fmt in FORMATS.values():
        for stem, data in fmt.render(projection):
            files[base / fmt.folder / f"{stem}{fmt.suffix}"] = data
    for path, data in files.items():
        write_private(path, data)
    return len(files)
