"""The API's routers, one module per area; `ROUTERS` is what `create_app` includes.

A new area (banks, webhooks, the console) is a router whose every route declares its
roles with `require(...)`; pass it to `create_app(..., routers=[...])`.
"""

from __future__ import annotations

from fastapi import APIRouter

from arbiter.service.routes import admin, audit, health, moderation, posts

ROUTERS: tuple[APIRouter, ...] = (
    posts.router,
    moderation.router,
    admin.router,
    audit.router,
    health.router,
)
