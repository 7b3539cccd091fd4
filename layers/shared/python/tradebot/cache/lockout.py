"""Failed-login lockout, per (email, source address) and per email, with a growing delay.

Failures are counted per pair: `max_failures` of them within `window_s` lock that pair, so one
address guessing at an account locks only itself out, never the owner at their own address. A
per-email ceiling (`email_max_failures`, across every address) bounds a distributed guesser;
reaching it locks the email everywhere. Each lockout of a subject lasts twice the one before
(from `lockout_s`, at most `lockout_max_s`), for as long as the last one is remembered.

Redis holds the counts. When it is down, failures are still bounded (fail closed for brute
force): an in-process ledger with the same rules counts them, checked together with Redis. Its
limitation: it is per execution environment, so N warm login environments let a guesser make
up to N times the limits during an outage.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import RateLimitedError

if TYPE_CHECKING:
    from tradebot.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

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
    return f"pair:{pair}", f"email:{hashlib.sha256(email.encode()).hexdigest()}"


def _keys(subject: str) -> list[str]:
    return [key("login", kind, subject) for kind in ("fails", "lock", "strikes")]


@dataclass
class _Entry:
    count: int = 0
    window_ends: float = 0.0
    locked_until: float = 0.0
    strikes: int = 0
    strikes_until: float = 0.0


class FailureLedger:
    """The same rules in process memory: the fallback while Redis is unavailable."""

    def __init__(self, clock: Clock = time.monotonic, max_subjects: int = 10_000) -> None:
        self._clock = clock
        self._max_subjects = max_subjects
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def locked_for(self, subjects: tuple[str, ...]) -> float:
        """Seconds until none of `subjects` is locked (0: none is)."""
        now = self._clock()
        with self._lock:
            entries = [self._entries.get(s) for s in subjects]
        return max([e.locked_until - now for e in entries if e is not None] + [0.0])

    def record(self, limits: dict[str, int], policy: LockoutPolicy) -> None:
        """Count one failure of each subject; lock those that reach their limit."""
        now = self._clock()
        with self._lock:
            if len(self._entries) >= self._max_subjects:
                self._prune(now)
            for subject, limit in limits.items():
                entry = self._entries.setdefault(subject, _Entry())
                if entry.window_ends <= now:
                    entry.count, entry.window_ends = 0, now + policy.window_s
                if entry.strikes_until <= now:
                    entry.strikes = 0
                entry.count += 1
                if entry.count >= limit:
                    entry.strikes += 1
                    entry.strikes_until = now + policy.memory_s
                    entry.locked_until = now + policy.lockout_for(entry.strikes)
                    entry.count, entry.window_ends = 0, 0.0

    def clear(self, subject: str) -> None:
        """Forget `subject`'s failures and lockouts."""
        with self._lock:
            self._entries.pop(subject, None)

    def forget_all(self) -> None:
        """Forget every subject."""
        with self._lock:
            self._entries.clear()

    def _prune(self, now: float) -> None:
        live = {
            s: e
            for s, e in self._entries.items()
            if max(e.window_ends, e.locked_until, e.strikes_until) > now
        }
        # Still full: the oldest go first (dicts keep insertion order).
        self._entries = dict(list(live.items())[-(self._max_subjects // 2) :])


_LEDGER = FailureLedger()


def check_login(email: str, address: str, ledger: FailureLedger = _LEDGER) -> None:
    """Raise `RateLimitedError` while the (email, address) pair or the email is locked.

    Checking does not count, so knocking during a lock never extends it. The in-process ledger
    is checked as well, so failures counted there during a Redis outage still hold.
    """
    subjects = _subjects(email, address)
    remaining = ledger.locked_for(subjects)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for subject in subjects:
            pipe.pttl(_keys(subject)[1])
        remaining = max([remaining] + [ms / 1000 for ms in pipe.execute()])
    except RedisError:
        logger.warning("login lockout store unavailable; checked in process only")
    if remaining > 0:
        raise RateLimitedError(retry_after_s=max(1, math.ceil(remaining)))


def record_login_failure(
    email: str, address: str, policy: LockoutPolicy, ledger: FailureLedger = _LEDGER
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
        logger.warning("login lockout store unavailable; failure counted in process")
        ledger.record(limits, policy)


def clear_login_failures(email: str, address: str, ledger: FailureLedger = _LEDGER) -> None:
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


def forget_local_failures() -> None:
    """Empty the in-process ledger (tests)."""
    _LEDGER.forget_all()
