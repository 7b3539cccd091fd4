"""Failed-login lockout, per (email, source address) and per email, with a growing delay.

Failures are counted per pair: `max_failures` of them within `window_s` lock that pair, so one
address guessing at an account locks only itself out, never the owner at their own address. A
per-email ceiling (`email_max_failures`, across every address) bounds a distributed guesser;
reaching it locks the email everywhere. Each lockout of a subject lasts twice the one before
(from `lockout_s`, at most `lockout_max_s`), for as long as the last one is remembered.

Redis holds the counts. When it is down, failures are still bounded (fail closed for brute
force): a fallback ledger with the same rules counts them, in the database
(tradebot.auth.failure_ledger), which every login environment shares; it is checked together
with Redis, so a lock taken during an outage still holds after it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import RateLimitedError

if TYPE_CHECKING:
    from tradebot.settings import Settings

logger = logging.getLogger(__name__)

# Per subject three keys: its failure count, its lock, its lockouts so far ("strikes").
# ARGV: window_s, lockout_s, lockout_max_s, memory_s, then each subject's limit.
_RECORD = """
local window, base = tonumber(ARGV[1]), tonumber(ARGV[2])
local cap, memory = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 0, #KEYS / 3 - 1 do
  local count_key, lock_key, strikes_key = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  redis.call('SET', count_key, 0, 'EX', window, 'NX')
  if redis.call('INCR', count_key) >= tonumber(ARGV[5 + i]) then
    local strikes = redis.call('INCR', strikes_key)
    redis.call('EXPIRE', strikes_key, memory)
    local lock_s = math.floor(math.min(base * 2 ^ (strikes - 1), cap))
    redis.call('SET', lock_key, strikes, 'EX', lock_s)
    redis.call('DEL', count_key)
  end
end
return 0
"""


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures lock what, and for how long."""

    max_failures: int  # per (email, address)
    email_max_failures: int  # per email, across all addresses
    window_s: int  # failures count within this long of the first one
    lockout_s: int  # the first lockout; each next one doubles
    lockout_max_s: int
    memory_s: int  # past lockouts count towards the next one for this long

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        """The policy of the `login_*` settings."""
        return cls(
            max_failures=settings.login_max_failures,
            email_max_failures=settings.login_email_max_failures,
            window_s=settings.login_failure_window_s,
            lockout_s=settings.login_lockout_s,
            lockout_max_s=settings.login_lockout_max_s,
            memory_s=settings.login_lockout_memory_s,
        )

    def lockout_for(self, strikes: int) -> float:
        """Seconds of the `strikes`-th lockout (1 for the first)."""
        return float(min(self.lockout_s * 2 ** min(strikes - 1, 62), self.lockout_max_s))


def _subjects(email: str, address: str) -> tuple[str, str]:
    # Hashed: an email address has no business in a cache key listing.
    pair = hashlib.sha256(f"{email}\x00{address}".encode()).hexdigest()
    return f"pair:{pair}", email_subject(email)


def email_subject(email: str) -> str:
    """The lockout subject of an email across every address (hashed)."""
    return f"email:{hashlib.sha256(email.encode()).hexdigest()}"


def _keys(subject: str) -> list[str]:
    return [key("login", kind, subject) for kind in ("fails", "lock", "strikes")]


@dataclass
class Failures:
    """One subject's failed logins: its count in the current window, its lock and its strikes.

    Times are seconds on the ledger's clock.
    """

    count: int = 0
    window_ends: float = 0.0
    locked_until: float = 0.0
    strikes: int = 0
    strikes_until: float = 0.0


def count_failure(failures: Failures, limit: int, policy: LockoutPolicy, now: float) -> None:
    """The Redis script's rule, for a ledger kept elsewhere: count one failure of a subject and
    lock it when it reaches `limit`, for twice as long as its last lockout."""
    if failures.window_ends <= now:
        failures.count, failures.window_ends = 0, now + policy.window_s
    if failures.strikes_until <= now:
        failures.strikes = 0
    failures.count += 1
    if failures.count >= limit:
        failures.strikes += 1
        failures.strikes_until = now + policy.memory_s
        failures.locked_until = now + policy.lockout_for(failures.strikes)
        failures.count, failures.window_ends = 0, 0.0


class FailureLedger(Protocol):
    """Where failures are counted while Redis is unavailable (tradebot.auth.failure_ledger keeps
    them in the database), and checked together with Redis so they still hold after it is back."""

    def locked_for(self, subjects: tuple[str, ...]) -> float:
        """Seconds until none of `subjects` is locked (0: none is)."""

    def record(self, limits: dict[str, int], policy: LockoutPolicy) -> None:
        """Count one failure of each subject; lock those that reach their limit."""

    def clear(self, subject: str) -> None:
        """Forget `subject`'s failures and lockouts."""


def check_login(email: str, address: str, ledger: FailureLedger) -> None:
    """Raise `RateLimitedError` while the (email, address) pair or the email is locked.

    Checking does not count, so knocking during a lock never extends it. The fallback ledger is
    checked as well, so failures counted there during a Redis outage still hold.
    """
    subjects = _subjects(email, address)
    remaining = ledger.locked_for(subjects)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for subject in subjects:
            pipe.pttl(_keys(subject)[1])
        remaining = max([remaining] + [ms / 1000 for ms in pipe.execute()])
    except RedisError:
        logger.warning("login lockout store unavailable; checked in the fallback ledger only")
    if remaining > 0:
        raise RateLimitedError(retry_after_s=max(1, math.ceil(remaining)))


def record_login_failure(
    email: str, address: str, policy: LockoutPolicy, ledger: FailureLedger
) -> None:
    """Count one failed login for the pair and for the email; lock those at their limit."""
    pair, whole = _subjects(email, address)
    limits = {pair: policy.max_failures, whole: policy.email_max_failures}
    args = [policy.window_s, policy.lockout_s, policy.lockout_max_s, policy.memory_s]
    try:
        get_redis().register_script(_RECORD)(
            keys=_keys(pair) + _keys(whole), args=args + list(limits.values())
        )
    except RedisError:
        logger.warning("login lockout store unavailable; failure counted in the fallback ledger")
        ledger.record(limits, policy)


def clear_login_failures(email: str, address: str, ledger: FailureLedger) -> None:
    """Forget the pair's failures and lockouts after a successful login.

    The per-email count is left to run out: a success from one address says nothing about the
    guesses coming from others.
    """
    pair, _ = _subjects(email, address)
    ledger.clear(pair)
    try:
        get_redis().delete(*_keys(pair))
    except RedisError:
        logger.warning("login lockout store unavailable; failures not cleared")
