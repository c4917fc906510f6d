"""The audit log over HTTP: its entries a page at a time, and the chain's verification."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from arbiter.service.auth import Principal, require
from arbiter.service.routes.common import AUTH, Service, responses, service
from arbiter.service.routes.schemas import (
    MAX_INT,
    AuditEntryOut,
    AuditPageOut,
    FindingOut,
    VerificationOut,
)
from arbiter.store import audit
from arbiter.store.database import reading

router = APIRouter(prefix="/v1", tags=["audit"])

Auditor = Annotated[Principal, Depends(require("auditor"))]
Svc = Annotated[Service, Depends(service)]


@router.get(
    "/audit",
    response_model=AuditPageOut,
    summary="Audit-log entries in chain order, a page at a time",
    responses=responses(*AUTH, 422),
)
def entries(
    who: Auditor,
    svc: Svc,
    after: Annotated[int, Query(ge=0, le=MAX_INT, description="The last seq already read.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPageOut:
    """Each entry as `arbiter audit export` writes it; docs/audit.md shows how to check the
    chain without Arbiter."""
    with reading(svc.store.engine) as connection:
        page = list(islice(audit.entries(connection, after, batch=limit + 1), limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return AuditPageOut(
        entries=[AuditEntryOut.model_validate(e.as_dict()) for e in page],
        next_after=page[-1].seq if more and page else None,
    )


@router.get(
    "/audit:verify",
    response_model=VerificationOut,
    summary="Recompute the chain and every decision's digest; name the first thing changed",
    responses=responses(*AUTH, 422),
)
def verify(
    who: Auditor,
    svc: Svc,
    anchor: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{1,9}:[0-9a-f]{64}$",
            description="SEQ:HASH of a head published earlier (e.g. in a report) to check.",
        ),
    ] = None,
) -> VerificationOut:
    checked = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        checked = (int(seq), digest)
    result = svc.store.verify_audit(checked)
    return VerificationOut(
        ok=result.ok,
        entries=result.entries,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        finding=FindingOut(seq=result.finding.seq, problem=result.finding.problem)
        if result.finding
        else None,
    )
