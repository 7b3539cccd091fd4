"""The trading journal through the Lambda handlers: CRUD, order, filters, pages, limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Note, NoteTag, Trade, new_id

from tests.support import Reply, assert_problem, call, error_fields, user_with_token


@pytest.fixture
def token() -> str:
    return user_with_token("trader@example.com")[1]


def _create(token: str, **fields: Any) -> dict[str, Any]:
    reply = call("notes_create", token=token, body={"title": "a note", **fields})
    assert reply.status == 201, reply.raw_body
    body: dict[str, Any] = reply.body
    return body


def _list(token: str, **query: str) -> Reply:
    reply = call("notes_list", token=token, query=query or None)
    assert reply.status == 200, reply.raw_body
    return reply


def _titles(token: str, **query: str) -> list[str]:
    return [note["title"] for note in _list(token, **query).body["items"]]


def _insert_trade(user_id: str) -> str:
    with unit_of_work() as session:
        trade = Trade(
            user_id=user_id, symbol="BTCUSDT", side="BUY", type="MARKET", client_order_id=new_id()
        )
        session.add(trade)
        session.flush()
        return trade.id


def test_create_answers_201_with_the_note(token: str) -> None:
    reply = call(
        "notes_create",
        token=token,
        body={"title": " Plan ", "content": "buy the dip", "tags": ["BTC", "plan", "btc"]},
    )

    assert reply.status == 201
    note = reply.body
    assert note["title"] == "Plan"
    assert note["content"] == "buy the dip"
    assert note["tags"] == ["btc", "plan"]  # lower-cased, deduplicated, sorted
    assert note["is_pinned"] is False
    assert note["trade_id"] is None
    assert note["created_at"].endswith("Z")
    assert call("notes_get", token=token, path_params={"note_id": note["id"]}).body == note


def test_the_list_is_pinned_first_then_newest(token: str) -> None:
    for title, pinned in [("old", False), ("old pin", True), ("mid", False), ("new pin", True)]:
        _create(token, title=title, is_pinned=pinned)
    _create(token, title="newest")

    reply = _list(token)

    assert [n["title"] for n in reply.body["items"]] == [
        "new pin",
        "old pin",
        "newest",
        "mid",
        "old",
    ]
    assert reply.body["next_cursor"] is None


def test_the_tag_filter_matches_in_any_case(token: str) -> None:
    _create(token, title="btc one", tags=["btc"])
    _create(token, title="eth", tags=["eth"])
    _create(token, title="btc two", tags=["plan", "btc"])

    assert _titles(token, tag="btc") == ["btc two", "btc one"]
    assert _titles(token, tag="BTC") == ["btc two", "btc one"]
    assert _titles(token, tag="doge") == []


def test_the_pinned_filter(token: str) -> None:
    _create(token, title="loose")
    _create(token, title="pinned", is_pinned=True)

    assert _titles(token, pinned="true") == ["pinned"]
    assert _titles(token, pinned="false") == ["loose"]


def _walk(token: str, limit: int, **query: str) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(limit), **query}
        if cursor:
            params["cursor"] = cursor
        body = _list(token, **params).body
        pages.append([note["id"] for note in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not terminate"


def test_cursor_pages_cover_every_note_once_in_order(token: str) -> None:
    for i in range(7):
        _create(token, title=f"note {i}", is_pinned=i in (1, 4))
    everything = [note["id"] for note in _list(token, limit="200").body["items"]]

    pages = _walk(token, limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [note_id for page in pages for note_id in page] == everything


def test_cursor_pages_are_exact_when_notes_share_a_timestamp(token: str) -> None:
    # Given notes written in the same instant (a bulk import), pinned and not
    user_id = call("auth_me", token=token).body["id"]
    instant = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with unit_of_work() as session:
        for i in range(9):
            session.add(
                Note(user_id=user_id, title=f"n{i}", is_pinned=i % 3 == 0, created_at=instant)
            )
    expected = [note["id"] for note in _list(token, limit="200").body["items"]]

    # When they are read two at a time
    pages = _walk(token, limit=2)

    # Then the id breaks the tie: nothing is skipped, nothing repeats
    flat = [note_id for page in pages for note_id in page]
    assert flat == expected
    assert len(set(flat)) == 9


def test_cursor_pages_respect_the_filters(token: str) -> None:
    for i in range(5):
        _create(token, title=f"btc {i}", tags=["btc"])
        _create(token, title=f"eth {i}", tags=["eth"])

    pages = _walk(token, limit=2, tag="btc")

    assert [len(page) for page in pages] == [2, 2, 1]


def test_a_forged_cursor_is_422_naming_cursor(token: str) -> None:
    reply = call("notes_list", token=token, query={"cursor": "bm90LWEtY3Vyc29y"})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["cursor"]


def test_a_cursor_with_a_time_without_zone_is_422_not_500(token: str) -> None:
    from tradebot.pagination import encode_cursor

    cursor = encode_cursor([True, "2026-11-25T10:00:00", new_id()])

    reply = call("notes_list", token=token, query={"cursor": cursor})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["cursor"]


def test_patch_changes_only_the_fields_sent(token: str) -> None:
    note = _create(token, title="draft", content="keep me", tags=["a", "b"], is_pinned=True)
    time.sleep(0.002)

    reply = call(
        "notes_update", token=token, path_params={"note_id": note["id"]}, body={"title": "final"}
    )

    assert reply.status == 200
    assert reply.body["title"] == "final"
    assert reply.body["content"] == "keep me"
    assert reply.body["tags"] == ["a", "b"]
    assert reply.body["is_pinned"] is True
    assert reply.body["created_at"] == note["created_at"]
    assert reply.body["updated_at"] > note["updated_at"]


def test_patch_replaces_the_tags_and_records_the_change(token: str) -> None:
    note = _create(token, tags=["btc", "plan"])
    time.sleep(0.002)

    reply = call(
        "notes_update",
        token=token,
        path_params={"note_id": note["id"]},
        body={"tags": ["btc", "Review"]},
    )

    assert reply.body["tags"] == ["btc", "review"]
    assert reply.body["updated_at"] > note["updated_at"]
    assert call("notes_get", token=token, path_params={"note_id": note["id"]}).body == reply.body
    assert _titles(token, tag="plan") == []


def test_patch_with_empty_tags_clears_them(token: str) -> None:
    note = _create(token, tags=["btc"])

    reply = call(
        "notes_update", token=token, path_params={"note_id": note["id"]}, body={"tags": []}
    )

    assert reply.body["tags"] == []


def test_patch_links_and_unlinks_an_own_trade(token: str) -> None:
    user_id = call("auth_me", token=token).body["id"]
    trade_id = _insert_trade(user_id)
    note = _create(token)
    path = {"note_id": note["id"]}

    linked = call("notes_update", token=token, path_params=path, body={"trade_id": trade_id})
    unlinked = call("notes_update", token=token, path_params=path, body={"trade_id": None})

    assert linked.body["trade_id"] == trade_id
    assert unlinked.status == 200
    assert unlinked.body["trade_id"] is None
    assert unlinked.body["title"] == note["title"]


@pytest.mark.parametrize("field", ["title", "content", "is_pinned", "tags"])
def test_patch_refuses_null_for_a_required_field(token: str, field: str) -> None:
    note = _create(token)

    reply = call(
        "notes_update", token=token, path_params={"note_id": note["id"]}, body={field: None}
    )

    assert_problem(reply, 422)
    assert error_fields(reply) == [field]


def test_delete_answers_204_then_the_note_is_gone(token: str) -> None:
    note = _create(token)
    path = {"note_id": note["id"]}

    deleted = call("notes_delete", token=token, path_params=path)

    assert deleted.status == 204
    assert deleted.raw_body == ""
    assert_problem(call("notes_get", token=token, path_params=path), 404)
    assert_problem(call("notes_delete", token=token, path_params=path), 404)
    assert_problem(call("notes_update", token=token, path_params=path, body={"title": "x"}), 404)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "t" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({"content": "c" * 20_001}, "content"),
        ({"tags": [f"tag{i}" for i in range(11)]}, "tags"),
        ({"tags": ["ok", "t" * 33]}, "tags[1]"),
        ({"tags": ["no spaces"]}, "tags[0]"),
        ({"trade_id": "t" * 37}, "trade_id"),
    ],
    ids=["title", "blank-title", "content", "too-many-tags", "long-tag", "bad-tag", "trade-id"],
)
@pytest.mark.parametrize("function", ["notes_create", "notes_update"])
def test_size_and_shape_limits_are_422_naming_the_field(
    token: str, function: str, fields: dict[str, Any], field: str
) -> None:
    path = {"note_id": _create(token)["id"]} if function == "notes_update" else None
    body = {"title": "a note", **fields}

    reply = call(function, token=token, path_params=path, body=body)

    assert_problem(reply, 422)
    assert error_fields(reply) == [field]


def test_the_largest_allowed_note_is_accepted(token: str) -> None:
    note = _create(
        token, title="t" * 200, content="c" * 20_000, tags=[f"{i}" + "t" * 31 for i in range(10)]
    )

    assert len(note["content"]) == 20_000
    assert len(note["tags"]) == 10


def test_linking_another_users_trade_is_422_naming_trade_id(token: str) -> None:
    other_id, _ = user_with_token("other@example.com")
    their_trade = _insert_trade(other_id)
    note = _create(token)

    created = call("notes_create", token=token, body={"title": "x", "trade_id": their_trade})
    updated = call(
        "notes_update",
        token=token,
        path_params={"note_id": note["id"]},
        body={"trade_id": their_trade},
    )

    for reply in (created, updated):
        assert_problem(reply, 422)
        assert error_fields(reply) == ["trade_id"]
    assert _titles(token) == ["a note"]


def test_linking_an_own_trade_on_create(token: str) -> None:
    user_id = call("auth_me", token=token).body["id"]
    trade_id = _insert_trade(user_id)

    assert _create(token, trade_id=trade_id)["trade_id"] == trade_id


def test_another_users_note_is_404_and_stays_unchanged(token: str) -> None:
    _, other = user_with_token("other@example.com")
    theirs = _create(other, title="private")
    path = {"note_id": theirs["id"]}

    assert_problem(call("notes_get", token=token, path_params=path), 404)
    assert_problem(call("notes_update", token=token, path_params=path, body={"title": "x"}), 404)
    assert_problem(call("notes_delete", token=token, path_params=path), 404)
    assert _titles(token) == []
    assert call("notes_get", token=other, path_params=path).body == theirs


def test_the_list_is_cached_and_every_write_invalidates_it(token: str) -> None:
    user_id = call("auth_me", token=token).body["id"]
    assert _titles(token) == []

    # A row written behind the service's back is not seen: the list is served from the cache
    with unit_of_work() as session:
        session.add(Note(user_id=user_id, title="behind the cache", tags=[NoteTag(tag="x")]))
    assert _titles(token) == []

    # Each write through the API makes the cached pages stale
    note = _create(token, title="created")
    assert set(_titles(token)) == {"created", "behind the cache"}

    path = {"note_id": note["id"]}
    call("notes_update", token=token, path_params=path, body={"title": "renamed"})
    assert "renamed" in _titles(token)

    call("notes_delete", token=token, path_params=path)
    assert _titles(token) == ["behind the cache"]


def test_one_users_write_does_not_show_in_anothers_list(token: str) -> None:
    _, other = user_with_token("other@example.com")
    assert _titles(other) == []

    _create(token, title="mine")

    assert _titles(other) == []
    assert _titles(token) == ["mine"]
