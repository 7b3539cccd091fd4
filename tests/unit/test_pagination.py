"""Opaque cursors: what we encode decodes back; anything else is a 422 naming `cursor`."""

from __future__ import annotations

import base64

import pytest
from tradebot.errors import InvalidInput
from tradebot.pagination import decode_cursor, encode_cursor


def test_a_cursor_round_trips_its_position() -> None:
    position = [True, "2026-11-25T10:00:00.123456+00:00", "3f2b8c1e-6d4a-4b7e-9c2a-1e5f7a9b0c3d"]

    cursor = encode_cursor(position)

    assert decode_cursor(cursor, 3) == position


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(["~~~???>>>", 1])

    assert "=" not in cursor
    assert "+" not in cursor
    assert "/" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("!!!", id="not-base64"),
        pytest.param("a", id="bad-padding"),
        pytest.param(base64.urlsafe_b64encode(b"not json").decode(), id="not-json"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(encode_cursor({"a": 1}), id="not-a-list"),  # type: ignore[arg-type]
        pytest.param(encode_cursor([1, 2]), id="wrong-length"),
        pytest.param("", id="empty"),
    ],
)
def test_a_cursor_we_did_not_make_is_invalid_input_naming_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, 3)

    assert [error.field for error in refused.value.errors] == ["cursor"]
    assert refused.value.status == 422
