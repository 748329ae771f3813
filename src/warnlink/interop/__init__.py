"""The output port: what every output reads of a party, and the outputs for other systems.

`party.PartyView` is the one source an output reads (a running node is one);
`projection.project_party` makes one projection of every event, which the display,
Cursor-on-Target (`cot`, `cot_server`, `cot_feed`), GeoJSON and KML (`export`) and the
output folder (`outputs`) all read; `formats.FORMATS` names every format once. The
modules are imported one by one (the command line imports `formats` at start-up, which
must not pull in numpy), so this package imports none of them. See docs/outputs.md.
"""
