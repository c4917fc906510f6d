"""The moderator console: server-rendered pages under /console, served by the API's process.

    from arbiter.console import ConsoleConfig, console_router
    app = create_app(store, engine, routers=[console_router(ConsoleConfig(media_roots=...))])

Moderators sign in with their API key; the console keeps a signed session cookie (see
`arbiter.console.session`), shows the review queue, each post with its evidence and its
history from the audit log, appeals, failing webhooks and platform actions, and records
every outcome through the Store with the key's owner as the moderator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arbiter.console.routes import ConsoleConfig, console_router

__all__ = ["ConsoleConfig", "console_router"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'arbiter.console' has no attribute {name!r}")
    from arbiter.console import routes

    return getattr(routes, name)
