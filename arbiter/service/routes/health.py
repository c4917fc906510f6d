"""Probes and metrics: /healthz (the process answers), /readyz (database and policy), /metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from arbiter.service.auth import public
from arbiter.service.metrics import CONTENT_TYPE
from arbiter.service.routes.common import Service, service
from arbiter.service.routes.schemas import HealthOut, ReadyOut
from arbiter.store.database import reading

router = APIRouter(tags=["operations"], dependencies=[Depends(public())])
Svc = Annotated[Service, Depends(service)]


@router.get("/healthz", response_model=HealthOut, summary="The process is up")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


def _readiness(svc: Service) -> ReadyOut:
    try:
        with reading(svc.store.engine) as connection:
            connection.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    engines = svc.live.current() if database else svc.live.loaded()
    problems = []
    if not database:
        problems.append("the database does not answer")
    if engines.live is None:
        problems.append("no live policy: upload one with PUT /v1/policies")
    policy = f"{engines.live.policy.id}@{engines.live.policy.version}" if engines.live else None
    return ReadyOut(
        status="not ready" if problems else "ready",
        database=database,
        policy=policy,
        problems=problems,
    )


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="Ready to decide: the database answers and a live policy is loaded",
    responses={503: {"model": ReadyOut, "description": "Not ready; `problems` says why."}},
)
async def readyz(response: Response, svc: Svc) -> ReadyOut:
    readiness = await run_in_threadpool(_readiness, svc)
    if readiness.problems:
        response.status_code = 503
    return readiness


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics(svc: Svc) -> Response:
    body = await run_in_threadpool(svc.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
