"""The local stack serves the web app beside the API on one origin (devstack/web.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tradebot.http.middleware import WEB_APP_CSP as APP_CSP

from devstack.server import build_local_app
from devstack.web import with_web_app

INDEX = "<!doctype html><title>Tradebot</title><div id=root></div>"
API_CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "sw.js").write_text("// shell")
    return tmp_path


@pytest.fixture
def client(dist: Path) -> TestClient:
    return TestClient(with_web_app(build_local_app(), dist))


@pytest.mark.parametrize(
    "path", ["/", "/orders", "/trade", "/journal/anything?trade=1", "/apikeys", "/docsearch"]
)
def test_every_app_path_is_the_app_with_its_own_csp_and_no_caching(
    client: TestClient, path: str
) -> None:
    reply = client.get(path)

    assert reply.status_code == 200
    assert reply.text == INDEX
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.headers["content-security-policy"] == APP_CSP
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_hashed_assets_are_cached_for_a_year_and_the_service_worker_is_not(
    client: TestClient,
) -> None:
    asset = client.get("/assets/index-abc123.js")
    worker = client.get("/sw.js")

    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert worker.headers["cache-control"] == "no-cache"


def test_a_missing_file_is_404_not_the_app(client: TestClient) -> None:
    assert client.get("/assets/gone-123.js").status_code == 404
    assert client.get("/favicon.ico").status_code == 404


def test_api_paths_stay_the_api_with_its_problems_and_headers(client: TestClient) -> None:
    missing = client.get("/api/nope")
    health = client.get("/health")
    spec = client.get("/openapi.json")

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.headers["content-security-policy"] == API_CSP
    assert health.status_code in (200, 503)
    assert health.headers["content-security-policy"] == API_CSP
    assert spec.json()["openapi"].startswith("3.")
    assert client.get("/api").headers["content-type"].startswith("application/problem+json")


def test_nothing_outside_the_build_is_served(client: TestClient, dist: Path) -> None:
    (dist.parent / "secret.txt").write_text("do not serve")

    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        reply = client.get(path)
        assert "do not serve" not in reply.text, path


def test_writes_to_app_paths_are_refused(client: TestClient) -> None:
    reply = client.post("/orders")

    assert reply.status_code == 405
    assert reply.headers["allow"] == "GET, HEAD"


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    client = TestClient(with_web_app(build_local_app(), tmp_path / "missing"))

    reply = client.get("/")

    assert reply.status_code == 503
    assert "make dev" in reply.text


def test_the_app_s_files_are_compressed_as_cloudfront_compresses_them_and_the_api_s_are_not(
    dist: Path, client: TestClient
) -> None:
    big = "export const words = " + repr(["trade"] * 2000) + ";"
    (dist / "assets" / "big-def456.js").write_text(big)

    asset = client.get("/assets/big-def456.js", headers={"Accept-Encoding": "gzip"})
    api = client.get("/health", headers={"Accept-Encoding": "gzip"})

    assert asset.headers["content-encoding"] == "gzip"
    assert asset.text == big  # decoded by the client, unchanged
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-encoding" not in api.headers
