"""Arbiter as a service: the HTTP API (`create_app`), API keys and roles (`require`).

The names are imported when first used, so `arbiter keys …` does not load FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arbiter.service.app import create_app
    from arbiter.service.auth import Principal, public, require
    from arbiter.service.routes.common import Settings

__all__ = ["Principal", "Settings", "create_app", "public", "require"]

_WHERE = {
    "create_app": "arbiter.service.app",
    "Principal": "arbiter.service.auth",
    "public": "arbiter.service.auth",
    "require": "arbiter.service.auth",
    "Settings": "arbiter.service.routes.common",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'arbiter.service' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
