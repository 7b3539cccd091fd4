"""One FastAPI app with every route of the table: the local server and the OpenAPI source."""

from __future__ import annotations

from fastapi import FastAPI
from tradebot.http.app import create_app

from devstack.functions import route_routers


def build_local_app() -> FastAPI:
    """Every route, the same code as each Lambda, with Swagger UI at /docs."""
    return create_app(route_routers(), docs=True)
