"""Both ingest journals pass the journal conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.journal_suite import JournalConformance, JournalFactory
from warnlink.errors import StoreError
from warnlink.sources.journal import Journal, MemoryJournal, SqliteJournal


class TestMemoryJournal(JournalConformance):
    durable = False

    @pytest.fixture
    def journal_factory(self) -> JournalFactory:
        def make(path: Path) -> Journal:
            return MemoryJournal()

        return make


class TestSqliteJournal(JournalConformance):
    @pytest.fixture
    def journal_factory(self) -> JournalFactory:
        return SqliteJournal


def test_a_journal_open_elsewhere_is_a_store_error(tmp_path: Path) -> None:
    first = SqliteJournal(tmp_path / "j.sqlite")
    try:
        with pytest.raises(StoreError):
            SqliteJournal(tmp_path / "j.sqlite")
    finally:
        first.close()
