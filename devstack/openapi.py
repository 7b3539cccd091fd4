"""Print the OpenAPI document built from the route table: `make openapi` writes openapi.json."""

from __future__ import annotations

import json
from typing import Any

from devstack.server import build_local_app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the whole API."""
    return build_local_app().openapi()


def render() -> str:
    """The document as committed: stable key order, trailing newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
