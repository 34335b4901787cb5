"""Row images on the wire: the natural key string the server stores and compares."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from core.sync.rows import TABLES, natural_key

PART = st.one_of(st.text(max_size=12), st.integers(min_value=-(2**70), max_value=2**70), st.booleans(),
                 st.floats(allow_nan=False), st.sampled_from(["2026-07-01", "a\"b", "c\\d", "e\x7ff", "é"]))


@given(person=PART, date=PART, slot=PART)
def test_natural_key_is_the_json_of_its_parts(person, date, slot) -> None:
    # The fast path for plain ids, dates and slot numbers writes exactly what json.dumps writes,
    # so keys stored by earlier servers still match.
    data = {"person_id": person, "date": date, "slot": slot}
    parts = [data[c] for c in TABLES["assignment"].natural_key]
    assert natural_key("assignment", data) == json.dumps(parts, separators=(",", ":"), default=str)


def test_natural_key_is_none_when_a_part_is_missing() -> None:
    assert natural_key("assignment", {"person_id": "p", "date": "2026-07-01", "slot": None}) is None
    assert natural_key("no_such_table", {"id": "x"}) is None
