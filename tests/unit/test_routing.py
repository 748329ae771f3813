"""Routing (`sharing.routing`): one route per message and recipient, direct links first,
a relay only where needed and only one its host is released the data or trusted for transit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import TRILATERAL, envelope, impact, launch, track, trilateral
from warnlink.errors import ConfigError
from warnlink.model import SecurityLabel
from warnlink.sharing.federation import Federation, load_federation, parse_federation
from warnlink.sharing.routing import RelayRoutes, Route, passes_on, route, routes

DATA = Path(__file__).resolve().parents[1] / "data"
FOUR = DATA / "four_parties_two_relays.toml"
KINDS = ("launch_report", "track_report", "impact_prediction", "event_status")


def four() -> Federation:
    return load_federation(FOUR)


def _route(fed: Federation, originator: str, kind: str, recipient: str) -> Route | None:
    return route(fed, originator, kind, fed.label_for(originator, kind), recipient)


def test_trilateral_goes_direct_to_the_relay_host_and_through_it_to_the_other() -> None:
    fed = trilateral()
    for kind in KINDS:
        assert _route(fed, "ROK", kind, "USA") == Route("USA", None)
        assert _route(fed, "ROK", kind, "JPN") == Route("JPN", "USA")
        assert _route(fed, "USA", kind, "JPN") == Route("JPN", None)
    # JPN's tracks go to USA alone: straight, and the relay never passes them on.
    sent = envelope(track(), originator="JPN", rel_to=("USA",))
    assert list(routes(fed, sent)) == [Route("USA", None)]
    assert passes_on(fed, "USA", sent) == ()


def test_four_parties_take_the_direct_link_and_never_a_relay_not_released() -> None:
    fed = four()
    # JPN and USA share a link: never through AUS (finding 4 routed it there).
    for kind in KINDS:
        assert _route(fed, "JPN", kind, "USA") == Route("USA", None)
    # JPN's tracks and statuses are released to ROK and USA only: AUS may not carry them.
    assert _route(fed, "JPN", "track_report", "ROK") == Route("ROK", "USA")
    assert _route(fed, "JPN", "event_status", "ROK") == Route("ROK", "USA")
    # Released to AUS too: either relay may carry, the first by name.
    assert _route(fed, "JPN", "launch_report", "ROK") == Route("ROK", "AUS")
    jpn_track = envelope(track(), originator="JPN", rel_to=("ROK", "USA"))
    assert passes_on(fed, "AUS", jpn_track) == ()
    assert passes_on(fed, "USA", jpn_track) == ("ROK",)
    # A relay's host gets its own direct traffic directly.
    usa_track = envelope(track(), originator="USA", rel_to=("AUS", "JPN", "ROK"))
    assert [r.via for r in routes(fed, usa_track)] == [None, None, None]
    assert passes_on(fed, "AUS", usa_track) == passes_on(fed, "USA", usa_track) == ()


def test_each_recipient_has_one_route_and_a_relay_only_when_needed() -> None:
    fed = four()
    for originator in fed.parties:
        for kind in KINDS:
            label = fed.label_for(originator, kind)
            sent = envelope(track(), originator=originator, rel_to=label.rel_to)
            found = [r for r in routes(fed, sent) if isinstance(r, Route)]
            assert sorted(r.recipient for r in found) == sorted(set(label.rel_to))
            for r in found:
                assert (r.via is None) == fed.adjacent(originator, r.recipient)
                if r.via is not None:
                    assert r.recipient in passes_on(fed, r.via, sent)
            carriers = [r.via for r in found if r.via is not None]
            for relay in fed.relays:  # no recipient is passed on by two relays
                assert len(set(passes_on(fed, relay, sent)) & {r.recipient for r in found}) == (
                    carriers.count(relay)
                )


def test_a_relays_remembered_routes_are_passes_on_and_bounded() -> None:
    fed = four()
    for relay in sorted(fed.relays):
        remembered = RelayRoutes(fed, relay, size=8)
        for rel_to in (("ROK", "USA"), ("AUS", "JPN", "ROK", "USA"), ("ROK",), ("XYZ",)):
            for originator in sorted(fed.parties):
                for payload in (track(), launch(), impact()):
                    sent = envelope(payload, originator=originator, rel_to=rel_to)
                    for _ in range(2):  # worked out, then remembered
                        assert remembered(sent) == passes_on(fed, relay, sent)
                    assert len(remembered._known) <= 8


def _jpn_tracks_to_rok_only(extra: str = "") -> str:
    return TRILATERAL.read_text().replace(
        'kinds = ["track_report"]\nto = ["USA"]', f'kinds = ["track_report"]\nto = ["ROK"]{extra}'
    )


def test_a_rule_no_route_can_deliver_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError) as info:
        parse_federation(_jpn_tracks_to_rok_only(), source="fed.toml")
    err = info.value
    assert err.key == "release[2].to"
    assert "JPN releases track_report to ROK, which it can never reach" in str(err)
    assert "relay USA is neither released the data nor named in the rule's transit" in str(err)


def test_a_relay_named_for_transit_may_carry_what_its_host_is_not_released() -> None:
    fed = parse_federation(_jpn_tracks_to_rok_only('\ntransit = ["USA"]'))
    assert fed.transit_for("JPN", "track_report") == {"USA"}
    assert fed.transit_for("JPN", "launch_report") == frozenset()
    assert _route(fed, "JPN", "track_report", "ROK") == Route("ROK", "USA")
    sent = envelope(track(), originator="JPN", rel_to=("ROK",))
    assert list(routes(fed, sent)) == [Route("ROK", "USA")]  # and nothing for USA's node


def test_transit_must_name_a_relay() -> None:
    with pytest.raises(ConfigError) as info:
        parse_federation(_jpn_tracks_to_rok_only('\ntransit = ["ROK"]'), source="fed.toml")
    assert info.value.key == "release[2].transit"
    assert "hosts no relay" in str(info.value)


def test_no_link_and_no_relay_between_is_undeliverable() -> None:
    text = TRILATERAL.read_text().replace('[[relays]]\nparty = "USA"\n', "")
    with pytest.raises(ConfigError) as info:
        parse_federation(text, source="fed.toml")
    assert "ROK releases event_status to JPN, which it can never reach" in str(info.value)


# Four parties in a ring PA - PB - PC - PD - PA, relays at PB, PC and PD. Cut at PD-PA
# it is a line, where reaching PD from PA would take PB passing on to PC: a relay
# passing on to a relay, where loops (a cycle of relays) could form. Relays pass on to
# their own link peers only, so no such route exists, and a rule needing one is refused.
_LINE = """
[federation]
name = "line"

[parties.PA]
name = "PA"
[parties.PB]
name = "PB"
[parties.PC]
name = "PC"
[parties.PD]
name = "PD"

[[links]]
id = "PA-PB"
parties = ["PA", "PB"]
[[links]]
id = "PB-PC"
parties = ["PB", "PC"]
[[links]]
id = "PC-PD"
parties = ["PC", "PD"]
[[links]]
id = "PD-PA"
parties = ["PD", "PA"]

[[relays]]
party = "PB"
[[relays]]
party = "PC"
[[relays]]
party = "PD"

[[release]]
originator = "PA"
kinds = ["track_report"]
to = ["PB", "PC", "PD"]
"""


def test_a_ring_of_relays_routes_without_cycles() -> None:
    fed = parse_federation(_LINE)
    label = fed.label_for("PA", "track_report")
    # PC is two links from PA either way: through PB or PD, each released, never both.
    assert route(fed, "PA", "track_report", label, "PC") == Route("PC", "PB")
    sent = envelope(track(), originator="PA", rel_to=label.rel_to)
    assert [passes_on(fed, r, sent) for r in ("PB", "PC", "PD")] == [("PC",), (), ()]


def test_a_rule_that_needs_a_chain_of_relays_is_refused() -> None:
    text = _LINE.replace('[[links]]\nid = "PD-PA"\nparties = ["PD", "PA"]\n', "")
    assert "PD-PA" not in text
    with pytest.raises(ConfigError) as info:
        parse_federation(text, source="line.toml")
    assert "PA releases track_report to PD, which it can never reach" in str(info.value)
    assert "relays do not pass on to relays" in str(info.value)


def test_heartbeats_never_go_through_a_relay_and_requests_may() -> None:
    fed = trilateral()
    to_jpn = SecurityLabel("UNCLASSIFIED", ("JPN",))
    assert route(fed, "ROK", "heartbeat", to_jpn, "JPN") is None
    assert route(fed, "ROK", "resend_request", to_jpn, "JPN") == Route("JPN", "USA")
