"""The database engine, built lazily once per execution environment, and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Engine, ExceptionContext, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool, StaticPool

from tradebot.errors import ServiceUnavailable
from tradebot.settings import get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, start transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # SQLite is the single-process dev database: taking the write lock up front serializes
    # writers (what row locks do on PostgreSQL) and makes SAVEPOINTs work.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# Connections a worker of this environment uses at once beyond the settings (see reserve_pool).
_reserved_pool_size = 0


def reserve_pool(size: int) -> None:
    """Let the pool keep at least `size` connections: for a function that runs `size` units of
    work at once (the executor's concurrent message groups), whatever DB_POOL_SIZE says.

    Best called before the first unit of work: a PostgreSQL engine already built with a smaller
    pool is rebuilt.
    """
    global _reserved_pool_size  # noqa: PLW0603 - one value per execution environment
    if size <= _reserved_pool_size:
        return
    _reserved_pool_size = size
    if not get_engine.cache_info().currsize:
        return
    pool = get_engine().pool
    # Only a PostgreSQL pool is rebuilt: SQLite's sizes do not matter, and an in-memory
    # database would be lost with its engine.
    if get_engine().dialect.name != "sqlite" and isinstance(pool, QueuePool) and pool.size() < size:
        reset_engine()


@cache
def get_engine() -> Engine:
    """The engine of this execution environment.

    A Lambda environment serves one request at a time, so one pooled connection with pre-ping
    is enough: it keeps warm requests free of connect/TLS cost, and RDS Proxy multiplexes the many
    environments' idle connections onto few database connections. `DB_POOL=null` opens a
    connection per unit of work instead (for proxies that pin, or for one-shot jobs).
    """
    settings = get_settings()
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {"timeout": settings.db_connect_timeout_s}
    if settings.db_statement_timeout_ms:
        # A stuck query must not hold a Lambda until its own timeout.
        connect_args["startup_params"] = {
            "statement_timeout": str(settings.db_statement_timeout_ms)
        }
    prefer_tls: _PreferTls | None = None
    if settings.database_auth == "iam" or settings.database_tls == "verify":
        import ssl

        # RDS Proxy requires TLS; pg8000's own default would not verify the certificate.
        connect_args["ssl_context"] = ssl.create_default_context()
    elif settings.database_tls == "off":
        connect_args["ssl_context"] = False
    else:
        prefer_tls = _PreferTls()
    if settings.db_pool == "null":
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    else:
        engine = create_engine(
            url,
            pool_size=max(settings.db_pool_size, _reserved_pool_size),
            max_overflow=2,
            pool_pre_ping=True,
            pool_recycle=240,
            pool_timeout=settings.db_connect_timeout_s,
            connect_args=connect_args,
        )
    event.listen(engine, "handle_error", _drop_connection_on_socket_error)
    if prefer_tls is not None:
        event.listen(engine, "do_connect", prefer_tls)
    if settings.database_auth == "iam":
        event.listen(engine, "do_connect", _iam_auth_token)
    return engine


class _PreferTls:
    """TLS when the server offers it, unverified: what pg8000 does when given no context, but
    with one context per engine. pg8000 builds a fresh one for every connection, and loading
    the system's CA certificates into it costs ~20 ms of each connect (a restored SnapStart
    copy's first request paid it); this one is built with the engine, before the snapshot.

    Given a context, pg8000 requires TLS; a server that refuses it is remembered and connected
    to in plain text from then on, as pg8000 would have done."""

    def __init__(self) -> None:
        import ssl

        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE
        self.refused = False

    def __call__(self, dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if not self.refused:
            try:
                return dialect.connect(*cargs, **{**cparams, "ssl_context": self.context})
            except dialect.loaded_dbapi.InterfaceError as exc:  # PEP 249's, here pg8000's
                if "refuses SSL" not in str(exc):
                    raise
                self.refused = True
        cparams["ssl_context"] = False
        return None  # SQLAlchemy connects with these parameters


def _iam_auth_token(dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    """A fresh RDS IAM token as the password of every new connection (tokens live 15 min)."""
    cparams["password"] = _rds_client().generate_db_auth_token(
        DBHostname=cparams["host"], Port=int(cparams.get("port", 5432)), DBUsername=cparams["user"]
    )


@cache
def _rds_client() -> Any:
    import boto3  # only functions behind RDS Proxy with IAM auth pay for boto3 here

    return boto3.client("rds")


def _drop_connection_on_socket_error(context: ExceptionContext) -> None:
    # pg8000 lets some socket errors escape unwrapped (a hung server's read timeout). The
    # connection is then mid-message: it must be closed, never rolled back or pooled again.
    if isinstance(context.original_exception, OSError):
        context.is_disconnect = True


@cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


# SQLSTATE classes meaning "the server cannot serve you right now", whatever exception class the
# driver picks for them (pg8000 raises ProgrammingError for "the database system is starting
# up"): 08 connection exception, 53 insufficient resources (too many connections), 57 operator
# intervention (shutdown, crash recovery, statement timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def _server_unavailable(exc: DBAPIError) -> bool:
    details = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    code = str(details.get("C", "")) if isinstance(details, dict) else ""
    return code[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error.

    Connection failures surface as `ServiceUnavailable`, so callers get a clear 503 and nothing
    half-written remains.
    """
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except (OperationalError, InterfaceError, PoolTimeout, OSError) as exc:
        # OSError: a socket error pg8000 did not wrap (see _drop_connection_on_socket_error).
        session.rollback()
        raise ServiceUnavailable("The database is unavailable; try again shortly") from exc
    except DBAPIError as exc:
        session.rollback()
        if exc.connection_invalidated or _server_unavailable(exc):
            raise ServiceUnavailable("The database is unavailable; try again shortly") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engine() -> None:
    """Dispose of the engine (tests and settings changes)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()


def forget_connections() -> None:
    """Let go of the pool's connections without closing them, after a fork or a SnapStart
    restore: their sockets belong to another process (or to every restored copy), so they are
    neither used nor closed over the wire. The engine and its compiled statements stay; the next
    unit of work connects anew (with a fresh IAM token: the RDS client is new too)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
    _rds_client.cache_clear()
