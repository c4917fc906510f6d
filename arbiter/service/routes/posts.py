"""Posts in, decisions out: evaluate one, submit a batch, read decisions, statements, notices."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from arbiter.model import Post, PostError
from arbiter.report.statements import notice_for, statement_for
from arbiter.service.auth import Principal, require
from arbiter.service.deciding import BusyError, NoPolicy
from arbiter.service.limits import retry_after
from arbiter.service.routes.common import (
    AUTH,
    Service,
    actor,
    decision_data,
    decision_out,
    find_decision,
    not_found,
    responses,
    service,
)
from arbiter.service.routes.schemas import (
    BatchAccepted,
    BatchIn,
    BatchItemOut,
    BatchOut,
    DecisionOut,
    PostIn,
    Str200,
)
from arbiter.store import StoreError

router = APIRouter(prefix="/v1", tags=["posts and decisions"])

Ingest = Annotated[Principal, Depends(require("ingest"))]
Reader = Annotated[Principal, Depends(require("ingest", "moderator", "auditor"))]
Svc = Annotated[Service, Depends(service)]
DecisionRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Za-z_-]+$",
        description="A decision's id or puid.",
    ),
]


def _post(body: PostIn) -> Post:
    try:
        return Post.from_dict(body.as_post_dict())
    except PostError as error:
        raise HTTPException(422, str(error)) from None


def _no_policy(error: NoPolicy) -> HTTPException:
    return HTTPException(503, str(error))


@router.post(
    "/posts:evaluate",
    status_code=201,
    response_model=DecisionOut,
    summary="Decide a post now and record the decision",
    responses={
        200: {"model": DecisionOut, "description": "Already decided: the stored decision."},
        201: {"description": "Decided and recorded now."},
        **responses(*AUTH, 413, 422),
    },
)
async def evaluate(body: PostIn, response: Response, who: Ingest, svc: Svc) -> dict[str, Any]:
    """Decide the post under the live policy and record it; the same post (same id and
    content) sent again gets the same stored decision back, with 200 instead of 201."""
    post = _post(body)
    try:
        future = svc.decider.submit(post, svc.live.current(), actor(who.role, who.owner))
    except NoPolicy as error:
        raise _no_policy(error) from None
    except RuntimeError as error:
        raise HTTPException(503, str(error)) from None
    outcome = await asyncio.wrap_future(future)
    response.status_code = 201 if outcome.created else 200
    return decision_data(outcome.stored, outcome.fresh)


@router.post(
    "/posts:batch",
    status_code=202,
    response_model=BatchAccepted,
    summary="Submit up to 1,000 posts to be decided in the background",
    responses=responses(*AUTH, 413, 422),
)
def submit_batch(body: BatchIn, who: Ingest, svc: Svc) -> BatchAccepted:
    """Accept the batch at once (logged in the audit trail with the submitter); a background
    worker decides and records the posts. Follow progress at `status_url`."""
    posts = [_post(item) for item in body.posts]
    try:
        job = svc.decider.submit_batch(posts, svc.live.current(), actor(who.role, who.owner))
    except NoPolicy as error:
        raise _no_policy(error) from None
    except BusyError as error:
        raise HTTPException(
            503, str(error), headers={"Retry-After": retry_after(error.retry_after)}
        ) from None
    return BatchAccepted(
        id=job.id, state=job.state, total=len(posts), status_url=f"/v1/batches/{job.id}"
    )


@router.get(
    "/batches/{batch_id}",
    response_model=BatchOut,
    summary="A batch's progress and its decisions",
    responses=responses(*AUTH, 404, 422),
)
def batch_status(
    batch_id: Annotated[str, Path(max_length=40, pattern=r"^[0-9]+-[0-9a-f]+$")],
    who: Ingest,
    svc: Svc,
) -> BatchOut:
    status = svc.decider.status(batch_id)
    if status is None:
        raise not_found(f"no batch {batch_id}")
    return BatchOut(
        id=status.id,
        state=status.state,
        total=status.total,
        decided=status.decided,
        submitted_by=status.submitted_by,
        submitted_at=status.submitted_at,
        policy=status.policy,
        policy_version=status.policy_version,
        error=status.error,
        items=[
            BatchItemOut(
                post_id=post_id,
                decision_id=d.id if d else None,
                puid=d.puid if d else None,
                action=d.decision.action if d else None,
                status=d.status if d else None,
            )
            for post_id, d in status.items
        ],
    )


@router.get(
    "/decisions/{ref}",
    response_model=DecisionOut,
    summary="A decision, by id or puid",
    responses=responses(*AUTH, 404, 422),
)
def get_decision(ref: DecisionRef, who: Reader, svc: Svc) -> DecisionOut:
    return decision_out(find_decision(svc.store, ref))


@router.get(
    "/posts/{post_id}/decisions",
    response_model=list[DecisionOut],
    summary="Every decision about a post (or an account), oldest first",
    responses=responses(*AUTH, 404, 422),
)
def post_decisions(
    post_id: Annotated[Str200, Path(min_length=1)],
    who: Reader,
    svc: Svc,
    subject: Annotated[
        Literal["post", "account"],
        Query(description="`account` reads an author's account decisions (suspensions)."),
    ] = "post",
) -> list[DecisionOut]:
    found = svc.store.decisions_of(post_id, subject)
    if not found:
        raise not_found(f"no decisions about {subject} {post_id}")
    return [decision_out(d) for d in found]


@router.get(
    "/decisions/{ref}/statement",
    response_model=dict[str, Any],
    summary="The decision's statement of reasons (DSA Transparency Database fields)",
    responses=responses(*AUTH, 404, 422),
)
def statement(ref: DecisionRef, who: Reader, svc: Svc) -> dict[str, Any]:
    decision = find_decision(svc.store, ref)
    try:
        found = statement_for(svc.store, decision)
    except StoreError as error:
        raise not_found(str(error)) from None
    if found is None:
        raise not_found(f"decision {decision.id} restricts nothing; it has no statement of reasons")
    return dict(found)


@router.get(
    "/decisions/{ref}/notice",
    response_model=dict[str, Any],
    summary="What the author is told: the statement, their post and how to contest it",
    responses=responses(*AUTH, 404, 422),
)
def notice(ref: DecisionRef, who: Reader, svc: Svc) -> dict[str, Any]:
    decision = find_decision(svc.store, ref)
    try:
        found = notice_for(svc.store, decision)
    except StoreError as error:
        raise not_found(str(error)) from None
    if found is None:
        raise not_found(f"decision {decision.id} restricts nothing; there is no notice to send")
    return dict(found)
