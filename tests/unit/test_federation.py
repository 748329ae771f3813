"""Federation config: the shipped file, labels from standing rules, clear errors."""

from __future__ import annotations

import pytest

from tests.factories import TRILATERAL, trilateral
from warnlink.errors import ConfigError
from warnlink.sharing.federation import parse_federation


def test_trilateral_shape() -> None:
    fed = trilateral()
    assert set(fed.parties) == {"ROK", "JPN", "USA"}
    assert fed.relays == {"USA"}
    assert fed.adjacent("ROK", "USA")
    assert fed.adjacent("JPN", "USA")
    assert not fed.adjacent("ROK", "JPN")


def test_routes_go_through_the_relay_only_where_there_is_no_link() -> None:
    fed = trilateral()
    assert dict(fed.routes("ROK")) == {"USA": None, "JPN": "USA"}
    assert dict(fed.routes("USA")) == {"ROK": None, "JPN": None}


def test_labels_follow_the_standing_rules() -> None:
    fed = trilateral()
    track = fed.label_for("ROK", "track_report")
    assert track.rel_to == ("JPN", "USA")
    assert track.withheld_from("JPN") == ("sensor",)
    assert track.withheld_from("USA") == ()
    assert fed.label_for("JPN", "track_report").rel_to == ("USA",)
    # a withheld field the kind does not have is not put on its label
    assert fed.label_for("ROK", "impact_prediction").field_rel_to == {}


def test_deny_by_default() -> None:
    text = TRILATERAL.read_text().replace('kinds = ["track_report"]', 'kinds = ["event_status"]')
    fed = parse_federation(text)
    assert fed.label_for("JPN", "track_report").rel_to == ()


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_federation(text, source="fed.toml")
    return info.value


def test_unknown_party_names_key_and_line() -> None:
    text = TRILATERAL.read_text().replace('to = ["USA", "JPN"]', 'to = ["USA", "PRK"]')
    err = _error(text)
    assert err.key == "release[0].to"
    assert err.line is not None
    assert 'to = ["USA", "PRK"]' in text.splitlines()[err.line - 1]
    assert "unknown party 'PRK'" in str(err)


def test_wrong_type_names_key_and_line() -> None:
    text = TRILATERAL.read_text().replace('id = "JPN-USA"', "id = 5")
    err = _error(text)
    assert err.key == "links[1].id"
    assert err.line is not None
    assert text.splitlines()[err.line - 1] == "id = 5"


def test_unknown_key_is_named() -> None:
    err = _error(TRILATERAL.read_text().replace("[[relays]]", "[[relay]]"))
    assert err.key == "relay"
    assert err.line is not None


def test_withholding_a_required_field_is_refused() -> None:
    err = _error(TRILATERAL.read_text().replace('JPN = ["sensor"]', 'JPN = ["pos"]'))
    assert "'pos' cannot be withheld" in str(err)
    assert err.key == "release[0].withhold.JPN"


def test_heartbeat_rules_are_refused_with_a_reason() -> None:
    err = _error(
        TRILATERAL.read_text().replace('kinds = ["track_report"]', 'kinds = ["heartbeat"]')
    )
    assert "link-local" in str(err)


def test_self_link_and_duplicate_link() -> None:
    base = TRILATERAL.read_text()
    assert "to itself" in str(_error(base.replace('["JPN", "USA"]', '["USA", "USA"]', 1)))
    assert "repeats" in str(
        _error(base.replace('parties = ["JPN", "USA"]', 'parties = ["USA", "ROK"]'))
    )


def test_party_without_link_is_refused() -> None:
    err = _error(TRILATERAL.read_text() + '\n[parties.AUS]\nname = "Australia"\n')
    assert err.key == "parties.AUS"


def test_syntax_error_gives_the_line() -> None:
    err = _error(TRILATERAL.read_text() + "\n[broken\n")
    assert "line" in str(err)


def test_fourth_party_needs_no_code_change() -> None:
    text = TRILATERAL.read_text() + (
        '\n[parties.AUS]\nname = "Australia"\n'
        '\n[[links]]\nid = "AUS-USA"\nparties = ["AUS", "USA"]\n'
        '\n[[release]]\noriginator = "AUS"\nkinds = ["launch_report"]\nto = ["ROK", "JPN", "USA"]\n'
    )
    fed = parse_federation(text)
    assert dict(fed.routes("AUS")) == {"USA": None, "ROK": "USA", "JPN": "USA"}
    assert fed.reach("USA") == ("AUS", "JPN", "ROK", "USA")


def _with_window(value: str) -> str:
    header = 'classification = "UNCLASSIFIED"\n'
    return TRILATERAL.read_text().replace(header, f"{header}freshness_window_s = {value}\n", 1)


def test_freshness_window_defaults_to_300_s_and_can_be_set() -> None:
    assert trilateral().freshness_window_s == 300
    assert parse_federation(_with_window("120")).freshness_window_s == 120
    assert parse_federation(_with_window("2.5")).freshness_window_s == 2.5


# 1e20 overflowed the replay store's integer times and killed every consumer, 1e308
# raised a traceback, 1e-12 refused every message (issue 17, finding 5).
@pytest.mark.parametrize(
    "value", ["0", "-5", "nan", "inf", "1e20", "1e308", "1e-12", "0.5", "86401"]
)
def test_freshness_window_must_be_one_second_to_one_day(value: str) -> None:
    text = _with_window(value)
    err = _error(text)
    assert err.key == "federation.freshness_window_s"
    assert err.line is not None
    assert text.splitlines()[err.line - 1] == f"freshness_window_s = {value}"
    assert "must be 1 to 86400 seconds" in str(err)


@pytest.mark.parametrize("value", ["1", "86400"])
def test_freshness_window_bounds_are_inclusive(value: str) -> None:
    assert parse_federation(_with_window(value)).freshness_window_s == float(value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('name = "trilateral"', f'name = "{"x" * 129}"', "federation.name"),
        ('name = "Japan"', 'name = ""', "parties[...].name"),
    ],
)
def test_names_are_bounded(old: str, new: str, key: str) -> None:
    err = _error(TRILATERAL.read_text().replace(old, new))
    assert err.key == key
