"""Administration: policies (upload, activate, read), authority orders, API keys, whoami."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from arbiter.policy.load import PolicyError, Problem, parse_policy
from arbiter.policy.model import Policy
from arbiter.service import keys
from arbiter.service.auth import ROLES, Principal, require
from arbiter.service.live import PolicyConflict
from arbiter.service.routes.common import (
    AUTH,
    ApiError,
    Service,
    actor,
    conflict,
    decision_out,
    not_found,
    refused,
    responses,
    service,
)
from arbiter.service.routes.schemas import (
    MAX_INT,
    ActivePoliciesOut,
    AuthorityIn,
    AuthorityOut,
    KeyCreatedOut,
    KeyIn,
    KeyOut,
    PolicyOut,
    PolicyUploadOut,
    RuleOut,
    Str200,
    WhoAmIOut,
    storable,
)
from arbiter.store import StoreError
from arbiter.store.authority import AuthorityError, AuthorityRequest

router = APIRouter(prefix="/v1", tags=["administration"])

Admin = Annotated[Principal, Depends(require("admin"))]
PolicyReader = Annotated[Principal, Depends(require("admin", "moderator", "auditor"))]
Svc = Annotated[Service, Depends(service)]

YAML_BODY = {
    "requestBody": {
        "required": True,
        "description": "The policy YAML (see DESIGN.md), UTF-8.",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _invalid_policy(problems: list[Problem]) -> ApiError:
    return ApiError(
        422,
        "invalid_policy",
        f"the policy was not loaded: {len(problems)} problem(s)",
        [{"file": p.file, "line": p.line, "message": p.message} for p in problems],
    )


def _unstorable(value: object) -> bool:
    """Whether a parsed policy holds a string no database stores (YAML escapes like "\\0")."""
    if isinstance(value, str):
        try:
            storable(value)
        except ValueError:
            return True
        return False
    if isinstance(value, tuple | list):
        return any(_unstorable(item) for item in value)
    if is_dataclass(value):
        return any(_unstorable(getattr(value, f.name)) for f in fields(value))
    return False


def _parse(text: str, source: str) -> Policy:
    try:
        policy = parse_policy(text, source)
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError([Problem(source, 0, "the YAML is nested too deeply")]) from None
    except Exception as error:  # the YAML and CEL parsers' own failures are bad input too
        raise PolicyError([Problem(source, 0, f"cannot read the policy: {error}")]) from None
    if _unstorable(policy):
        message = "the policy holds NUL or unpaired surrogate characters (YAML escapes)"
        raise PolicyError([Problem(source, 0, message)])
    return policy


@router.put(
    "/policies",
    response_model=PolicyUploadOut,
    summary="Upload a policy and make it live (or run it in shadow)",
    openapi_extra=YAML_BODY,
    responses=responses(*AUTH, 409, 413, 422),
)
async def upload_policy(
    request: Request,
    who: Admin,
    svc: Svc,
    mode: Annotated[
        Literal["live", "shadow"],
        Query(
            description="live: decide with it from now on; shadow: decide beside the live "
            "version, stored but never acted on."
        ),
    ] = "live",
    source: Annotated[
        Str200, Query(min_length=1, description="The file name problems are reported under.")
    ] = "policy.yaml",
) -> PolicyUploadOut:
    """Validated as `arbiter check-policy` does: an invalid policy is refused with every
    problem as {file, line, message}. A valid one is stored verbatim and activated; the
    running engine switches to it without a restart. A changed policy needs a new version."""
    body = await request.body()
    try:
        text = storable(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
        raise _invalid_policy([Problem(source, 0, f"cannot read the policy: {reason}")]) from None
    try:
        policy = await run_in_threadpool(_parse, text, source)
    except PolicyError as error:
        raise _invalid_policy(error.problems) from None
    try:
        await run_in_threadpool(
            svc.live.activate, policy, mode, actor(who.role, who.owner), svc.decider.writing
        )
    except (PolicyConflict, StoreError) as error:
        raise conflict(str(error)) from None
    return PolicyUploadOut(
        id=policy.id,
        version=policy.version,
        title=policy.title,
        mode=mode,
        entities=len(policy.entities),
        rules=len(policy.rules),
    )


@router.get(
    "/policies",
    response_model=ActivePoliciesOut,
    summary="The policy this service decides with: its live and shadow versions",
    responses=responses(*AUTH),
)
def active_policies(who: PolicyReader, svc: Svc) -> ActivePoliciesOut:
    engines = svc.live.current()
    return ActivePoliciesOut(
        policy=svc.live.policy_id,
        live=engines.live.policy.version if engines.live else None,
        shadow=engines.shadow.policy.version if engines.shadow else None,
    )


@router.get(
    "/policies/{policy_id}/{version}",
    response_model=PolicyOut,
    summary="A stored policy version, verbatim",
    responses=responses(*AUTH, 404, 422),
)
def get_policy(
    policy_id: Annotated[Str200, Path(min_length=1)],
    version: Annotated[int, Path(ge=0, le=MAX_INT)],
    who: PolicyReader,
    svc: Svc,
) -> PolicyOut:
    try:
        policy = svc.store.policy(policy_id, version)
    except StoreError as error:
        raise not_found(str(error)) from None
    return PolicyOut(
        id=policy.id,
        version=policy.version,
        title=policy.title,
        source=policy.source,
        live=svc.store.active_version(policy.id, "live") == policy.version,
        shadow=svc.store.active_version(policy.id, "shadow") == policy.version,
        entities=[e.id for e in policy.entities],
        rules=[
            RuleOut(
                id=r.id, when=r.when, action=r.action, territorial_scope=list(r.territorial_scope)
            )
            for r in policy.rules
        ],
        text=policy.text,
    )


# -- authority orders ---------------------------------------------------------------------


def _order_out(request: AuthorityRequest) -> AuthorityOut:
    return AuthorityOut(
        id=request.id,
        authority=request.authority,
        legal_basis=request.legal_basis,
        reference=request.reference,
        issued_on=request.issued_on,
        territorial_scope=list(request.territorial_scope),
        action=request.action,
        recorded_at=request.recorded_at,
        recorded_by=request.recorded_by,
    )


@router.post(
    "/authority-requests",
    status_code=201,
    response_model=AuthorityOut,
    summary="Record a government's or court's order and the decisions it causes",
    responses=responses(*AUTH, 404, 413, 422),
)
def record_order(body: AuthorityIn, who: Admin, svc: Svc) -> AuthorityOut:
    """Recorded as what it is (authority, legal basis, reference, date, scope) under the
    pseudo-policy `authority-order`, apart from decisions under the platform's terms; the
    key's owner is recorded as who entered it. An order gives no strike."""
    request = AuthorityRequest(
        id=0,
        authority=body.authority,
        legal_basis=body.legal_basis,
        reference=body.reference,
        issued_on=body.issued_on.isoformat(),
        territorial_scope=tuple(body.territorial_scope),
        action=body.action,
        recorded_at=svc.store.clock(),
        recorded_by=who.owner,
    )
    try:
        with svc.decider.writing:
            request_id, written = svc.store.record_authority_request(request, list(body.posts))
    except AuthorityError as error:
        if "has not seen" in str(error):
            raise not_found(str(error)) from None
        raise ApiError(422, "invalid_order", str(error)) from None
    for decision in written:
        svc.metrics.decided(decision)
    stored = {r.id: r for r in svc.store.authority_requests()}[request_id]
    out = _order_out(stored)
    out.decisions = [decision_out(d) for d in written]
    return out


@router.get(
    "/authority-requests",
    response_model=list[AuthorityOut],
    summary="Every recorded order, oldest first",
    responses=responses(*AUTH),
)
def orders(
    who: Annotated[Principal, Depends(require("admin", "auditor"))], svc: Svc
) -> list[AuthorityOut]:
    return [_order_out(r) for r in svc.store.authority_requests()]


# -- keys ---------------------------------------------------------------------------------


@router.post(
    "/keys",
    status_code=201,
    response_model=KeyCreatedOut,
    summary="Create an API key (shown once)",
    responses=responses(*AUTH, 413, 422),
)
def create_key(body: KeyIn, who: Admin, svc: Svc) -> KeyCreatedOut:
    try:
        with svc.decider.writing:
            created, key = keys.create_key(
                svc.store.engine, body.owner, body.role, actor(who.role, who.owner), svc.store.clock
            )
    except keys.KeyRefused as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return KeyCreatedOut(key=key, **created.as_dict())


@router.get(
    "/keys",
    response_model=list[KeyOut],
    summary="Every API key (prefixes, owners, roles; never secrets)",
    responses=responses(*AUTH),
)
def list_keys(who: Admin, svc: Svc) -> list[KeyOut]:
    return [KeyOut(**k.as_dict()) for k in keys.list_keys(svc.store.engine)]


@router.post(
    "/keys/{prefix}:revoke",
    response_model=KeyOut,
    summary="Revoke an API key: refused from now on",
    responses=responses(*AUTH, 404, 409, 422),
)
def revoke_key(
    prefix: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")], who: Admin, svc: Svc
) -> KeyOut:
    try:
        with svc.decider.writing:
            revoked = keys.revoke_key(
                svc.store.engine, prefix, actor(who.role, who.owner), svc.store.clock
            )
    except keys.KeyRefused as error:
        raise refused(error) from None
    svc.authenticator.forget(prefix)
    return KeyOut(**revoked.as_dict())


@router.get(
    "/me",
    response_model=WhoAmIOut,
    summary="The key's owner and role",
    tags=["administration"],
    responses=responses(*AUTH),
)
def whoami(who: Annotated[Principal, Depends(require(*ROLES))]) -> WhoAmIOut:
    return WhoAmIOut(owner=who.owner, role=who.role, prefix=who.prefix)
