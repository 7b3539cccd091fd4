"""Load `functions/<name>/handler.py` modules by name, the way Lambda does, once each."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter
from tradebot.http.routes import ROUTES, WORKERS

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"


def function_names() -> list[str]:
    """Every function folder on disk."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def declared_names() -> list[str]:
    """Every function the route table and the worker list declare."""
    return sorted([r.function for r in ROUTES] + [w.function for w in WORKERS])


@cache
def load_function(name: str) -> ModuleType:
    """Import `functions/<name>/handler.py` under a unique module name."""
    path = FUNCTIONS / name / "handler.py"
    if not path.is_file():
        raise KeyError(f"no function named {name!r}")
    spec = importlib.util.spec_from_file_location(f"functions.{name}.handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic generics resolve their module by name
    spec.loader.exec_module(module)
    return module


def route_routers() -> list[APIRouter]:
    """The routers of every API route, in table order, for a combined app."""
    return [load_function(route.function).route.router for route in ROUTES]
