"""Sessions: the refresh cookie, its rotation and reuse detection, logout, listing and revoking
sessions, and access tokens that stop working the moment their session ends."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from tradebot.auth.sessions import hash_refresh_token
from tradebot.auth.tokens import read_access_token
from tradebot.db.engine import unit_of_work
from tradebot.db.models import RefreshToken, SecurityEvent, UserSession, utcnow

from tests.support import Reply, assert_problem, call, configure, register_and_login

PASSWORD = "correct horse battery staple"  # register_and_login's
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def login(email: str = "trader@example.com", source_ip: str = "198.51.100.7") -> Reply:
    reply = call(
        "auth_login",
        body={"email": email, "password": PASSWORD},
        headers={"User-Agent": BROWSER},
        source_ip=source_ip,
    )
    assert reply.status == 200, reply.raw_body
    return reply


def cookie_value(reply: Reply) -> str:
    """The refresh token a reply sets."""
    cookie = reply.headers["set-cookie"]
    name, value = cookie.split(";", 1)[0].split("=", 1)
    assert name == "__Host-refresh"
    return value


def refresh(token: str, **headers: str) -> Reply:
    return call("auth_refresh", headers={"Cookie": f"__Host-refresh={token}", **headers})


def me(access_token: str) -> int:
    return call("auth_me", token=access_token).status


def session_of(access_token: str) -> str:
    session_id = read_access_token(access_token).session_id
    assert session_id is not None
    return session_id


def events_of(user_id: str) -> list[SecurityEvent]:
    with unit_of_work() as session:
        query = select(SecurityEvent).where(SecurityEvent.user_id == user_id)
        return list(session.scalars(query.order_by(SecurityEvent.created_at)))


def assert_cookie_cleared(reply: Reply) -> None:
    assert reply.headers["set-cookie"].startswith("__Host-refresh=;")
    assert "Max-Age=0" in reply.headers["set-cookie"]


@pytest.fixture
def user() -> str:
    """A registered user (password PASSWORD); their id."""
    user_id, _ = register_and_login()
    return user_id


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any rotated-out token presented again is reuse, however soon."""
    configure(monkeypatch, refresh_reuse_grace_s="0")


# --- login and refresh -----------------------------------------------------------------------


def test_login_sets_a_host_only_http_only_strict_refresh_cookie_and_a_15_minute_token(
    user: str,
) -> None:
    reply = login()

    cookie = reply.headers["set-cookie"]
    attributes = {part.strip() for part in cookie.split(";")[1:]}
    assert {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} <= attributes
    assert f"Max-Age={30 * 86400}" in attributes or "Max-Age=2591999" in attributes
    assert "Domain" not in cookie
    assert len(cookie_value(reply)) >= 43  # 256 bits, base64url
    assert reply.body["expires_in"] == 900
    assert read_access_token(reply.body["access_token"]).user_id == user
    # The refresh token is stored only as its hash
    with unit_of_work() as session:
        stored = session.scalars(select(RefreshToken.token_hash)).all()
    assert cookie_value(reply) not in stored
    assert hash_refresh_token(cookie_value(reply)) in stored


def test_the_login_event_and_the_session_name_the_address_and_user_agent(user: str) -> None:
    reply = login(source_ip="203.0.113.9")

    login_event = [e for e in events_of(user) if e.type == "login"][-1]
    assert (login_event.ip, login_event.user_agent) == ("203.0.113.9", BROWSER)
    listed = call("sessions_list", token=reply.body["access_token"]).body["items"]
    current = [s for s in listed if s["current"]]
    assert [(s["ip"], s["user_agent"]) for s in current] == [("203.0.113.9", BROWSER)]


def test_refresh_rotates_the_cookie_and_answers_a_working_access_token(user: str) -> None:
    first = login()

    renewed = refresh(cookie_value(first))

    assert renewed.status == 200, renewed.raw_body
    assert cookie_value(renewed) != cookie_value(first)
    assert renewed.body["token_type"] == "bearer"
    assert renewed.body["expires_in"] == 900
    assert me(renewed.body["access_token"]) == 200
    assert session_of(renewed.body["access_token"]) == session_of(first.body["access_token"])
    # And the new cookie rotates in turn
    assert refresh(cookie_value(renewed)).status == 200


@pytest.mark.usefixtures("no_grace")
def test_a_reused_refresh_token_ends_the_whole_session_and_is_recorded(user: str) -> None:
    first = login()
    renewed = refresh(cookie_value(first))
    access = renewed.body["access_token"]
    assert me(access) == 200

    reused = refresh(cookie_value(first))

    body = assert_problem(reused, 401)
    assert "already used" in body["detail"]
    assert_cookie_cleared(reused)
    # The session is over: its newest refresh token and its access tokens too, at once
    assert_problem(refresh(cookie_value(renewed)), 401)
    assert me(access) == 401
    assert me(first.body["access_token"]) == 401
    reuse = [e for e in events_of(user) if e.type == "refresh_reuse"]
    assert len(reuse) == 1
    assert reuse[0].detail == f"session {session_of(access)}"
    with unit_of_work() as session:
        ended = session.get(UserSession, session_of(access))
        assert ended is not None
        assert ended.revoke_reason == "refresh_reuse"


def test_a_second_tab_refreshing_with_the_same_cookie_gets_a_token_but_no_new_cookie(
    user: str,
) -> None:
    # Given two tabs that both send the cookie they share, one just after the other
    first = login()
    winner = refresh(cookie_value(first))

    # When the second one arrives within the grace
    loser = refresh(cookie_value(first))

    # Then it gets an access token of the same session, and leaves the winner's cookie alone
    assert loser.status == 200, loser.raw_body
    assert "set-cookie" not in loser.headers
    assert me(loser.body["access_token"]) == 200
    assert session_of(loser.body["access_token"]) == session_of(winner.body["access_token"])
    assert refresh(cookie_value(winner)).status == 200
    assert not [e for e in events_of(user) if e.type == "refresh_reuse"]


def test_the_grace_covers_only_the_token_just_rotated_out(user: str) -> None:
    first = login()
    second = refresh(cookie_value(first))
    third = refresh(cookie_value(second))
    assert third.status == 200

    # The first token is two rotations old: reuse, even within seconds
    assert_problem(refresh(cookie_value(first)), 401)
    assert me(third.body["access_token"]) == 401


def test_two_concurrent_refreshes_rotate_once_and_keep_the_session(user: str) -> None:
    # Given two tabs refreshing with the same cookie: the first holds its rotation uncommitted
    # until the second has read the token (on SQLite, whose writers queue, it waits in vain)
    from sqlalchemy import event
    from tradebot.auth import sessions
    from tradebot.db.engine import get_engine

    cookie = cookie_value(login())
    first_rotated = threading.Event()  # its UPDATE ran, not yet committed
    second_read = threading.Event()

    def commit(_conn: object) -> None:
        if threading.current_thread().name == "first":
            second_read.wait(2)

    def executed(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        name = threading.current_thread().name
        if name == "first" and sql.lstrip().startswith("UPDATE refresh_tokens"):
            first_rotated.set()
        if name == "second" and "FROM refresh_tokens" in sql:
            second_read.set()

    outcomes: dict[str, object] = {}

    def tab() -> None:
        if threading.current_thread().name == "second":
            # The second tab starts once the first has rotated (so the order is not left to
            # the scheduler); on SQLite the first's write lock keeps it waiting, in vain.
            first_rotated.wait(2)
        try:
            with unit_of_work() as session:
                outcomes[threading.current_thread().name] = sessions.refresh(session, cookie)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcomes[threading.current_thread().name] = exc

    event.listen(get_engine(), "commit", commit)
    event.listen(get_engine(), "after_cursor_execute", executed)
    try:
        tabs = [threading.Thread(target=tab, name=name) for name in ("first", "second")]
        for each in tabs:
            each.start()
        for each in tabs:
            each.join(30)
    finally:
        event.remove(get_engine(), "commit", commit)
        event.remove(get_engine(), "after_cursor_execute", executed)

    # Then one rotated and the other got an access token only; the session goes on
    assert first_rotated.is_set()
    first, second = outcomes["first"], outcomes["second"]
    assert isinstance(first, sessions.SignedIn), first
    assert isinstance(second, sessions.SignedIn), second
    assert first.refresh_token is not None
    assert second.refresh_token is None
    assert me(second.access.access_token) == 200
    assert refresh(first.refresh_token).status == 200
    with unit_of_work() as session:
        assert set(session.scalars(select(UserSession.revoked_at))) == {None}


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not-a-token-we-issued", id="unknown"),
    ],
)
def test_a_missing_or_unknown_refresh_cookie_is_401_and_cleared(cookie: str | None) -> None:
    headers = {} if cookie is None else {"Cookie": f"__Host-refresh={cookie}"}

    reply = call("auth_refresh", headers=headers)

    assert_problem(reply, 401)
    assert_cookie_cleared(reply)


def test_an_expired_session_cannot_refresh_and_its_tokens_stop(user: str) -> None:
    first = login()
    access = first.body["access_token"]
    with unit_of_work() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert_problem(refresh(cookie_value(first)), 401)
    assert me(access) == 401


# --- cross-site requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
        pytest.param(
            {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
            id="foreign-origin-cross-site-fetch",
        ),
        pytest.param({"Origin": "null"}, id="opaque-origin"),
        pytest.param({"Origin": "http://localhost.evil.example"}, id="lookalike-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="cross-site-fetch"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, id="sibling-site-fetch"),
    ],
)
def test_a_refresh_from_another_site_is_403_and_rotates_nothing(
    user: str, headers: dict[str, str]
) -> None:
    first = login()

    refused = refresh(cookie_value(first), **headers)

    body = assert_problem(refused, 403)
    assert body["type"] == "urn:tradebot:problem:cross-site-request-refused"
    # The cookie was not rotated: it still works from the right place
    assert refresh(cookie_value(first)).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://localhost:3000"}, id="configured-frontend"),
        pytest.param({"Origin": "https://localhost", "X-Forwarded-Proto": "https"}, id="own"),
        pytest.param({"Sec-Fetch-Site": "same-origin"}, id="same-origin-fetch"),
        # Behind CloudFront: the page's origin is the distribution's, the Host API Gateway's
        pytest.param(
            {"Origin": "https://d111111abcdef8.cloudfront.net", "Sec-Fetch-Site": "same-origin"},
            id="same-origin-behind-cloudfront",
        ),
        pytest.param({}, id="not-a-browser"),
    ],
)
def test_a_refresh_from_the_app_itself_is_allowed(user: str, headers: dict[str, str]) -> None:
    reply = refresh(cookie_value(login()), **headers)

    assert reply.status == 200, reply.raw_body


# --- logout and sessions ---------------------------------------------------------------------


def test_logout_ends_this_session_clears_the_cookie_and_keeps_the_others(user: str) -> None:
    this, other = login(), login()
    access = this.body["access_token"]
    assert me(access) == 200  # its "active" answer is cached now

    reply = call("auth_logout", token=access)

    assert reply.status == 204
    assert_cookie_cleared(reply)
    assert me(access) == 401
    assert_problem(refresh(cookie_value(this)), 401)
    assert me(other.body["access_token"]) == 200
    assert [e.type for e in events_of(user)][-1] == "logout"


def test_sessions_are_listed_newest_first_with_the_current_one_marked_and_paginated(
    user: str,
) -> None:
    first, second, third = login(), login(), login()
    register_and_login("someone@example.com")  # another user's session is not listed
    call("auth_logout", token=second.body["access_token"])  # nor an ended one
    token = first.body["access_token"]

    page = call("sessions_list", token=token, query={"limit": "1"})
    rest = call("sessions_list", token=token, query={"cursor": page.body["next_cursor"]})

    listed = page.body["items"] + rest.body["items"]
    assert rest.body["next_cursor"] is None
    expected = [session_of(third.body["access_token"]), session_of(token)]
    # register_and_login's own session is the oldest
    assert [s["id"] for s in listed][:2] == expected
    assert len(listed) == 3
    assert [s["current"] for s in listed] == [False, True, False]
    assert set(listed[0]) == {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}


def test_a_revoked_session_s_access_token_stops_at_once(user: str) -> None:
    mine, lost_laptop = login(), login()
    stolen = lost_laptop.body["access_token"]
    assert me(stolen) == 200  # cached as active

    reply = call(
        "sessions_delete",
        token=mine.body["access_token"],
        path_params={"session_id": session_of(stolen)},
    )

    assert reply.status == 204
    assert me(stolen) == 401
    assert_problem(refresh(cookie_value(lost_laptop)), 401)
    assert me(mine.body["access_token"]) == 200
    revoked = [e for e in events_of(user) if e.type == "session_revoked"]
    assert [e.detail for e in revoked] == [f"session {session_of(stolen)}"]


def test_revoking_an_ended_or_unknown_session_is_404(user: str) -> None:
    mine, other = login(), login()
    token = mine.body["access_token"]
    path = {"session_id": session_of(other.body["access_token"])}
    assert call("sessions_delete", token=token, path_params=path).status == 204

    again = call("sessions_delete", token=token, path_params=path)
    unknown = call("sessions_delete", token=token, path_params={"session_id": "nope"})

    assert_problem(again, 404)
    assert again.body == assert_problem(unknown, 404)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_redis_down_the_database_answers_and_revocation_still_holds(
    user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = login(), login()
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")

    assert me(other.body["access_token"]) == 200
    revoked = call(
        "sessions_delete",
        token=mine.body["access_token"],
        path_params={"session_id": session_of(other.body["access_token"])},
    )

    assert revoked.status == 204
    assert me(other.body["access_token"]) == 401
    assert me(mine.body["access_token"]) == 200
    assert call("auth_logout", token=mine.body["access_token"]).status == 204
    assert me(mine.body["access_token"]) == 401


def test_a_token_without_a_session_is_refused() -> None:
    from tradebot.auth.tokens import issue_access_token

    user_id, _ = register_and_login()

    assert me(issue_access_token(user_id).access_token) == 401


def test_with_the_database_down_a_live_session_reads_market_data_and_a_revoked_one_cannot(
    user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradebot.market.updater import refresh_prices

    refresh_prices()
    mine, unused, revoked = login(), login(), login()
    path = {"session_id": session_of(revoked.body["access_token"])}
    assert call("sessions_delete", token=mine.body["access_token"], path_params=path).status == 204
    configure(monkeypatch, database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/x")

    # Nothing cached for `unused`: the database cannot say, and Redis holds no tombstone
    prices = call("market_prices", token=unused.body["access_token"])
    refused = call("market_prices", token=revoked.body["access_token"])

    assert prices.status == 200, prices.raw_body
    assert_problem(refused, 401)
    assert_problem(call("notes_list", token=unused.body["access_token"]), 503)
