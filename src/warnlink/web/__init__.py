"""The operator display: one view per party, served by the party's node.

`view` builds what a party's display shows from its projection (`interop.projection`, pure);
`display` holds one party's sources; `app` serves it (page, JSON API, WebSocket,
Prometheus metrics); `serve` runs the servers in the program's event loop; `live`
serves the demo. See docs/display.md.
"""
