"""Balances of a live (Binance) account, cached briefly so a burst of requests makes one call."""

from __future__ import annotations

import json
from contextlib import suppress
from decimal import Decimal

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tradebot.accounts.service import decrypt_credentials, stored_key_refused
from tradebot.cache.client import get_redis, key
from tradebot.db.models import ApiCredential
from tradebot.errors import InvalidApiKey
from tradebot.exchange.base import Balance
from tradebot.exchange.factory import binance_exchange
from tradebot.exchange.retry import with_retries
from tradebot.settings import get_settings


def live_balances(session: Session, user_id: str) -> list[Balance]:
    """The account's non-zero balances from Binance, cached `live_balance_ttl_s` seconds.

    `StoredKeyRefused` (409) without asking when the exchange refused the stored key before;
    when it refuses it now, that is recorded (committed with the caller's transaction, as the
    request fails) and the key is not used again until one is stored anew.
    """
    cache_key = key("live-balances", user_id)
    try:
        cached = get_redis().get(cache_key)
    except RedisError:
        cached = None
    if cached:
        return [
            Balance(asset=a, free=Decimal(f), locked=Decimal(lk)) for a, f, lk in json.loads(cached)
        ]
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if credential is None:
        return []
    # `KeyNotBound` (400) for a key that failed its binding check, now or before.
    credentials = decrypt_credentials(credential, credential.id)
    if credentials is None:
        return []
    if credential.invalidated_at is not None:
        raise stored_key_refused(credential.invalid_reason)
    exchange = binance_exchange(credentials)
    try:
        balances = with_retries(exchange.balances, attempts=2)
    except InvalidApiKey as exc:
        from tradebot.orders.sync import refuse_key

        refuse_key(session, user_id, exc.detail, credential_id=credential.id)
        session.commit()
        raise stored_key_refused(exc.detail) from exc
    finally:
        exchange.close()
    document = json.dumps([[b.asset, format(b.free, "f"), format(b.locked, "f")] for b in balances])
    # If Redis is down the next request asks Binance again; nothing is lost.
    with suppress(RedisError):
        get_redis().set(cache_key, document, ex=get_settings().live_balance_ttl_s)
    return balances


def forget_live_balances(user_id: str) -> None:
    """Drop the cached balances (after an order changes them)."""
    try:
        get_redis().delete(key("live-balances", user_id))
    except RedisError:
        return
