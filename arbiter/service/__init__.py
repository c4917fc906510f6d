"""Arbiter as a service: the HTTP API (`create_app`), API keys and roles (`require`)."""

from arbiter.service.app import create_app
from arbiter.service.auth import Principal, public, require
from arbiter.service.routes.common import Settings

__all__ = ["Principal", "Settings", "create_app", "public", "require"]
