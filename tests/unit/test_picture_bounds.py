"""What a picture keeps per message is bounded: the ids it remembers to drop a repeat
(the most recent ones) and each contribution's provenance (first and latest ids)."""

from __future__ import annotations

import msgspec

from tests.factories import T0, envelope, track
from warnlink.fusion.picture import PROVENANCE_KEPT, Picture
from warnlink.model import Envelope
from warnlink.model.time import NS_PER_S


def _update(trk_id: int, seq: int) -> Envelope:
    """Track `trk_id`'s report number `seq`, a second after the one before."""
    report = msgspec.structs.replace(track(trk_id), epoch=T0 + seq * NS_PER_S)
    return envelope(report, originator="ROK", seq=seq)


def test_the_applied_ids_remembered_are_the_most_recent_ones() -> None:
    picture = Picture("JPN", applied_kept=4)
    messages = [_update(1, seq) for seq in range(1, 11)]
    for message in messages:
        assert picture.apply(message, T0)
    assert picture.remembered == 4
    assert [picture.has_applied(m.msg_id) for m in messages] == [False] * 6 + [True] * 4
    assert not picture.apply(messages[-1], T0)  # a recent repeat is still dropped
    assert picture.events  # and what was applied stays applied


def test_a_contribution_keeps_its_first_and_latest_ids_and_counts_them_all() -> None:
    picture = Picture("JPN")
    messages = [_update(1, seq) for seq in range(1, PROVENANCE_KEPT + 11)]
    for message in messages:
        picture.apply(message, T0)
    ((contribution,),) = (e.contributions.values() for e in picture.events.values())
    assert contribution.msg_count == len(messages)
    assert len(contribution.msg_ids) == PROVENANCE_KEPT
    assert contribution.msg_ids[0] == messages[0].msg_id
    assert contribution.msg_ids[1:] == [m.msg_id for m in messages[-(PROVENANCE_KEPT - 1) :]]
    assert picture.provenance_kept == PROVENANCE_KEPT
