"""People deciding over HTTP: the review queue, outcomes, appeals filed and decided."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from arbiter.service.auth import Principal, require
from arbiter.service.deciding import log_event
from arbiter.service.routes.common import (
    AUTH,
    Service,
    actor,
    decision_out,
    find_decision,
    refused,
    responses,
    service,
)
from arbiter.service.routes.schemas import (
    MAX_INT,
    AppealDecidedOut,
    AppealDecideIn,
    AppealFiledOut,
    AppealIn,
    AppealOut,
    PostOut,
    ReviewDecideIn,
    ReviewItemOut,
    ReviewOutcomeOut,
)
from arbiter.store import StoreError
from arbiter.store.database import reading
from arbiter.store.moderation import ModerationError
from arbiter.store.schema import appeals as appeal_rows

router = APIRouter(prefix="/v1", tags=["reviews and appeals"])

Moderator = Annotated[Principal, Depends(require("moderator"))]
Svc = Annotated[Service, Depends(service)]
Number = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get(
    "/reviews",
    response_model=list[ReviewItemOut],
    summary="The review queue: open reviews, oldest first, with their posts",
    responses=responses(*AUTH, 422),
)
def review_queue(
    who: Moderator,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReviewItemOut]:
    items = []
    for item in svc.store.review_queue(limit):
        post = None
        if item.decision.subject == "post":
            try:
                stored = svc.store.post(item.decision.decision.post_id)
            except StoreError:
                stored = None
            if stored is not None:
                post = PostOut.model_validate(
                    {
                        "id": stored.id,
                        "text": stored.text,
                        "lang": stored.lang,
                        "created_at": stored.created_at,
                        "author": {
                            "id": stored.author.id,
                            "handle": stored.author.handle,
                            "country": stored.author.country,
                        },
                        "url": stored.url,
                        "media": [
                            {"id": m.id, "type": m.type, "path": m.path, "url": m.url}
                            for m in stored.media
                        ],
                    }
                )
        items.append(
            ReviewItemOut(
                review_id=item.review_id,
                reason=item.reason,
                queued_at=item.queued_at,
                appeal_id=item.appeal_id,
                decision=decision_out(item.decision),
                post=post,
            )
        )
    return items


@router.post(
    "/reviews/{review_id}:decide",
    response_model=ReviewOutcomeOut,
    summary="Confirm or change a queued decision",
    responses=responses(*AUTH, 404, 409, 413, 422),
)
def decide_review(
    review_id: Number, body: ReviewDecideIn, who: Moderator, svc: Svc
) -> ReviewOutcomeOut:
    """The moderator's outcome: the same action confirms the decision; another one is a new
    (human) decision that supersedes it. The key's owner is recorded as the moderator."""
    try:
        with svc.decider.writing:
            new = svc.store.decide_review(
                review_id, who.owner, body.action, body.reason, tuple(body.territorial_scope)
            )
    except (ModerationError, StoreError) as error:
        raise refused(error) from None
    if new is not None:
        svc.metrics.decided(new)
    return ReviewOutcomeOut(
        review_id=review_id,
        outcome="stands" if new is None else "decided",
        decision=decision_out(new) if new is not None else None,
    )


@router.post(
    "/decisions/{ref}/appeals",
    status_code=201,
    response_model=AppealFiledOut,
    summary="File the author's appeal against a decision",
    responses=responses(*AUTH, 404, 409, 413, 422),
)
def file_appeal(
    ref: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")],
    body: AppealIn,
    who: Annotated[Principal, Depends(require("ingest", "moderator"))],
    svc: Svc,
) -> AppealFiledOut:
    """The platform (an ingest key) relays the author's appeal, or a moderator enters one
    received elsewhere. `filed_by` must be the post's author; the appeal is queued for a
    moderator who had no part in the decision."""
    decision = find_decision(svc.store, ref)
    try:
        with svc.decider.writing:
            appeal_id = svc.store.file_appeal(decision.id, body.filed_by, body.statement)
    except (ModerationError, StoreError) as error:
        raise refused(error) from None
    # The store logs the appeal as the author's; this entry says which key relayed it.
    log_event(
        svc.store,
        "appeal.relayed",
        actor(who.role, who.owner),
        f"decision:{decision.puid}",
        {"appeal": appeal_id, "filed_by": body.filed_by},
        svc.decider.writing,
    )
    return AppealFiledOut(appeal_id=appeal_id, decision_id=decision.id)


@router.post(
    "/appeals/{appeal_id}:decide",
    response_model=AppealDecidedOut,
    summary="Uphold or overturn an appeal",
    responses=responses(*AUTH, 404, 409, 413, 422),
)
def decide_appeal(
    appeal_id: Number, body: AppealDecideIn, who: Moderator, svc: Svc
) -> AppealDecidedOut:
    """Overturning restores the post and withdraws its strike. A moderator who took part in
    the decision may not decide its appeal (409)."""
    try:
        with svc.decider.writing:
            new = svc.store.decide_appeal(
                appeal_id, who.owner, body.outcome, body.reason, body.action
            )
    except (ModerationError, StoreError) as error:
        raise refused(error) from None
    if new is not None:
        svc.metrics.decided(new)
    return AppealDecidedOut(
        appeal_id=appeal_id,
        outcome=body.outcome,
        decision=decision_out(new) if new is not None else None,
    )


@router.get(
    "/appeals",
    response_model=list[AppealOut],
    summary="Appeals, oldest first",
    responses=responses(*AUTH, 422),
)
def appeals(
    who: Annotated[Principal, Depends(require("moderator", "auditor"))],
    svc: Svc,
    status: Annotated[Literal["open", "decided"] | None, Query()] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT, description="The last appeal id already read.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AppealOut]:
    """Oldest first, a page at a time: pass the last id seen as `after`."""
    query = select(appeal_rows).where(appeal_rows.c.id > after).order_by(appeal_rows.c.id)
    if status:
        query = query.where(appeal_rows.c.status == status)
    with reading(svc.store.engine) as connection:
        rows = connection.execute(query.limit(limit)).all()
    return [AppealOut.model_validate(dict(row._mapping)) for row in rows]
