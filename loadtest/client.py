"""A small HTTP/1.1 client for the load run (kept-alive, loopback only) and its percentiles."""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 30.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (a real sample, no interpolation); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def loopback_only(url: str) -> tuple[str, int]:
    """(host, port) of `url`; refuses anything that is not loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"refusing to load {host}: loopback only")
    return host, parts.port or 80


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Connection:
    """One kept-alive HTTP/1.1 connection; a broken one is replaced on the next request."""

    def __init__(self, host: str, port: int, source: str | None = None) -> None:
        self.host, self.port = host, port
        # Each account talks from its own loopback address, as users do from theirs: the
        # per-address limits (login, /health) then count one user, not the whole run.
        self.source = (source, 0) if source else None
        self._http: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        decode: bool = True,
    ) -> Reply:
        """Send one request; status 0 when the connection failed. `decode=False` reads the
        body but leaves it (and the headers) unparsed, for a generator that only counts."""
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self._http is None:
            self._http = http.client.HTTPConnection(
                self.host, self.port, timeout=TIMEOUT_S, source_address=self.source
            )
        try:
            self._http.request(method, path, body=data, headers=sent)
            response = self._http.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return Reply(0, None, {})
        if not decode:
            return Reply(response.status, None, {})
        text = raw.decode(errors="replace")
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return Reply(response.status, payload, {k.lower(): v for k, v in response.getheaders()})

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
