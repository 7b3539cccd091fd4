"""The bench's own throwaway storage and environment, created per run and removed after it.

DATABASE_URL naming PostgreSQL: one fresh database per section, migrated, dropped at the end.
Otherwise SQLite files in a temporary directory. REDIS_URL: keys under a per-run prefix,
deleted at the end; otherwise the embedded fakeredis (one per process).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from devstack.databases import is_postgres, pg_connect, with_database

ROOT = Path(__file__).resolve().parent.parent
# Request weight a minute the Binance fake and our budget allow (binance.com: 6000).
BENCH_WEIGHT_LIMIT = 1_000_000_000
HIGH_LIMITS = json.dumps({"read": 100_000_000, "write": 100_000_000, "auth": 100_000_000})


def say(message: str) -> None:
    """Progress, on stderr: stdout carries the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def shown_path(path: Path) -> str:
    """`path` relative to the repository when inside it (results.json travels with the repo)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def reset_caches() -> None:
    """Forget every per-environment singleton so the next use re-reads the environment."""
    from tradebot.cache.client import reset_redis
    from tradebot.db.engine import reset_engine
    from tradebot.orders.queue import reset_queue_client
    from tradebot.settings import get_settings

    reset_engine()
    reset_redis()
    reset_queue_client()
    get_settings.cache_clear()


class BenchEnv:
    """Databases and a Redis namespace that exist for one run only."""

    def __init__(self) -> None:
        self.base_database_url = os.environ.get("DATABASE_URL", "")
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.postgres = is_postgres(self.base_database_url)
        self.run_id = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tradebot-bench-{self.run_id}-"))
        self.databases: list[str] = []
        self.urls: dict[str, str] = {}

    @property
    def redis_prefix_root(self) -> str:
        return f"tbbench:{self.run_id}:"

    def base_environment(self, extra: dict[str, str]) -> None:
        """What every section shares: secrets of this run, high rate limits, no tracing."""
        from cryptography.fernet import Fernet

        os.environ.update(
            {
                "APP_ENV": "local",
                "JWT_SECRET": secrets.token_urlsafe(48),
                "FERNET_KEYS": Fernet.generate_key().decode(),
                "RATE_LIMITS": HIGH_LIMITS,
                # A benchmark places far more orders than a trader's default risk limits allow.
                "DEFAULT_MAX_OPEN_ORDERS": "100000000",
                "DEFAULT_MAX_ORDERS_PER_MINUTE": "100000000",
                "DEFAULT_MAX_ORDER_NOTIONAL": "1000000000000",
                "DEFAULT_MAX_DAILY_NOTIONAL": "1000000000000",
                # ... and replaces a key far more often than the key-check limit allows a trader,
                # each replacement asking the Binance fake (whose weight limit is raised to match).
                "KEY_CHECK_LIMIT": "100000000",
                "BINANCE_WEIGHT_LIMIT": str(BENCH_WEIGHT_LIMIT),
                # ... and logs in with a wrong password one call in five, for the same email.
                "LOGIN_MAX_FAILURES": "100000000",
                "LOGIN_EMAIL_MAX_FAILURES": "100000000",
                "POWERTOOLS_SERVICE_NAME": "tradebot",
                "POWERTOOLS_METRICS_NAMESPACE": "TradebotBench",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",  # a stub endpoint, never AWS
                "REDIS_URL": self.redis_url,
                **extra,
            }
        )
        for name in ("SECRETS_NAME", "AWS_LAMBDA_FUNCTION_NAME", "AWS_PROFILE"):
            os.environ.pop(name, None)

    def database(self, section: str) -> str:
        """A fresh, migrated database for `section`; its URL."""
        if self.postgres:
            name = f"tradebot_bench_{self.run_id}_{section}"
            admin = pg_connect(self.base_database_url)
            try:
                admin.run(f'CREATE DATABASE "{name}"')
            finally:
                admin.close()
            self.databases.append(name)
            url = with_database(self.base_database_url, name)
        else:
            url = f"sqlite:///{self.tmp / f'{section}.db'}"
        self.urls[section] = url
        self.activate(section)
        from tradebot.db.migrate import upgrade

        upgrade()
        return url

    def activate(self, section: str) -> None:
        """Point the application (and children started from now on) at `section`'s storage."""
        os.environ["DATABASE_URL"] = self.urls[section]
        os.environ["REDIS_PREFIX"] = f"{self.redis_prefix_root}{section}:"
        reset_caches()

    def describe_database(self) -> str:
        if not self.postgres:
            return f"SQLite {sqlite3.sqlite_version} (embedded default; DATABASE_URL not set)"
        admin = pg_connect(self.base_database_url)
        try:
            version = str(admin.run("SHOW server_version")[0][0])
        finally:
            admin.close()
        parts = urlsplit(self.base_database_url)
        return f"PostgreSQL {version} at {parts.hostname}:{parts.port or 5432} (pg8000)"

    def describe_redis(self) -> str:
        if not self.redis_url:
            from importlib import metadata

            return (
                f"fakeredis {metadata.version('fakeredis')} (embedded default; REDIS_URL not set)"
            )
        from redis import Redis

        client = Redis.from_url(self.redis_url, socket_timeout=2)
        try:
            version = client.info("server").get("redis_version", "?")
        finally:
            client.close()
        parts = urlsplit(self.redis_url)
        return f"Redis {version} at {parts.hostname}:{parts.port or 6379}"

    def close(self) -> None:
        """Drop every database and delete every key this run created."""
        reset_caches()
        if self.redis_url:
            from redis import Redis

            client = Redis.from_url(self.redis_url, socket_timeout=5)
            try:
                keys = list(client.scan_iter(match=f"{self.redis_prefix_root}*", count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
            finally:
                client.close()
        if self.databases:
            admin = pg_connect(self.base_database_url)
            try:
                for name in self.databases:
                    admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                admin.close()
            self.databases.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)
