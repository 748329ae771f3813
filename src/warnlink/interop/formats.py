"""The registry of output formats: each named once, with its media type, file suffix and
the function that renders it from a party's projection (`interop.projection`).

| name | media type | files (under the party's output folder) |
| --- | --- | --- |
| ``geojson`` | ``application/geo+json`` | ``events/<event>.geojson``, one per event |
| ``kml`` | ``application/vnd.google-earth.kml+xml`` | ``events/<event>.kml``, one per event |
| ``cot`` | ``application/xml`` | ``cot/<uid>.xml``, one per CoT event (track, launch, impact) |
| ``cap`` | ``application/cap+xml`` | ``cap/<identifier>.xml``, one per alert message sent |

A format that makes exactly one file per event (`Format.per_event`) can export one
event: ``warnlink export --format``, the web API's ``/api/events/{id}/export?format=``
and `demo.export_event` offer those (`EXPORTS`). The output folder
(`interop.outputs.write_party_outputs`) writes every format.

This module is cheap to import (the command line lists the names at start-up): the
renderers import the heavy modules (numpy, shapely, the projection) when first called.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from warnlink.errors import ConfigError

if TYPE_CHECKING:
    from warnlink.interop.projection import PartyProjection

#: A rendered file: its name without the suffix (an event id, a CoT uid, a CAP
#: identifier) and its bytes.
Document = tuple[str, bytes]
Render = Callable[["PartyProjection"], Iterator[Document]]


@dataclass(frozen=True, slots=True)
class Format:
    """One output format.

    Attributes:
        name: what users type (``--format``, ``?format=``).
        media_type: its Internet media type, for HTTP.
        suffix: its file suffix, with the dot.
        folder: where the output folder puts its files, under the party's folder.
        per_event: it renders exactly one file per event, so one event can be exported.
        render: the files of a projection (every event's, every alert's).
    """

    name: str
    media_type: str
    suffix: str
    folder: str
    per_event: bool
    render: Render

    def export(self, projection: PartyProjection) -> bytes:
        """The one file of a projection restricted to one event (`project_party(view, {id})`).

        Raises:
            ConfigError: the format does not make one file per event, or the projection
                does not hold exactly one event.
        """
        if not self.per_event:
            raise ConfigError(
                f"format {self.name!r} does not export one event; use one of {', '.join(EXPORTS)}"
            )
        documents = list(self.render(projection))
        if len(documents) != 1:
            raise ConfigError(
                f"an export is of one event; the projection holds {len(projection.events)}"
            )
        return documents[0][1]


def _geojson(projection: PartyProjection) -> Iterator[Document]:
    from warnlink.interop.export import event_geojson

    for event in projection.events:
        yield event.event_id, (json.dumps(event_geojson(event), indent=1) + "\n").encode()


def _kml(projection: PartyProjection) -> Iterator[Document]:
    from warnlink.interop.export import event_kml

    for event in projection.events:
        yield event.event_id, event_kml(event)


def _cot(projection: PartyProjection) -> Iterator[Document]:
    from warnlink.interop.cot import event_cot

    for event in projection.events:
        for cot in event_cot(event):
            yield cot.uid, cot.xml


def _cap(projection: PartyProjection) -> Iterator[Document]:
    from warnlink.alerting.cap import to_cap

    for alert in projection.alerts:
        yield alert.identifier, to_cap(alert)


FORMATS: Final = {
    f.name: f
    for f in (
        Format("geojson", "application/geo+json", ".geojson", "events", True, _geojson),
        Format("kml", "application/vnd.google-earth.kml+xml", ".kml", "events", True, _kml),
        Format("cot", "application/xml", ".xml", "cot", False, _cot),
        Format("cap", "application/cap+xml", ".xml", "cap", False, _cap),
    )
}
"""Every output format, by name."""
EXPORTS: Final = tuple(name for name, f in FORMATS.items() if f.per_event)
"""The formats one event can be exported in."""


def export_format(name: str) -> Format:
    """The export format of that name.

    Raises:
        ConfigError: no such format, or it does not export one event (the message lists
            those that do).
    """
    found = FORMATS.get(name)
    if found is None or not found.per_event:
        raise ConfigError(f"unknown export format {name!r}; use one of {', '.join(EXPORTS)}")
    return found
