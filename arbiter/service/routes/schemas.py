"""Request and response bodies of the HTTP API, as pydantic models (they make the OpenAPI).

Every string a client sends is bounded to what the store's columns hold and refuses
NUL and unpaired surrogate characters, which no database stores: bad input is a 422
that says where and why, never a 500.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from arbiter.service.keys import OWNER

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_BATCH = 1000  # posts in one POST /v1/posts:batch
MAX_INT = 2**31 - 1  # ids are 32-bit integers in the store


def storable(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL or unpaired surrogate characters")
    return value


class _Storable:
    """Says in the JSON schema what `storable` checks: no NUL character."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if "pattern" in schema:  # JSON Schema has one pattern per object: add ours beside it
            schema["allOf"] = [*schema.get("allOf", []), {"pattern": NO_NUL}]
        else:
            schema["pattern"] = NO_NUL
        return schema


NO_NUL = "^[^\\u0000]*$"
# Some character that is neither blank nor a control character: what `str.strip()` leaves.
NOT_BLANK = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
STORABLE = (AfterValidator(storable), _Storable())
Text = Annotated[str, *STORABLE]
Str8 = Annotated[str, StringConstraints(max_length=8), *STORABLE]
Str16 = Annotated[str, StringConstraints(max_length=16), *STORABLE]
Str32 = Annotated[str, StringConstraints(max_length=32), *STORABLE]
Str40 = Annotated[str, StringConstraints(max_length=40), *STORABLE]
Str200 = Annotated[str, StringConstraints(max_length=200), *STORABLE]
Str1000 = Annotated[str, StringConstraints(max_length=1000), *STORABLE]
Str2048 = Annotated[str, StringConstraints(max_length=2048), *STORABLE]
Str10k = Annotated[str, StringConstraints(max_length=10_000), *STORABLE]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200), *STORABLE]
Name1000 = Annotated[
    str, StringConstraints(min_length=1, max_length=1000, pattern=NOT_BLANK), *STORABLE
]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=10_000, pattern=NOT_BLANK), *STORABLE
]
PostId = Name200
COUNTRY = r"^[A-Z]{2}$"
Country = Annotated[str, StringConstraints(pattern=COUNTRY)]
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
HumanAction = Literal["remove", "restrict", "label", "allow"]


# -- posts --------------------------------------------------------------------------------


class AuthorIn(BaseModel):
    id: Str200 = ""
    handle: Str200 = ""
    country: Str8 = ""


def _no_path(value: str) -> str:
    if value:
        raise ValueError("a media path is not accepted over the API: give the media's url")
    return value


def _id_text(value: Any) -> Any:
    return str(value) if type(value) is int else value


class MediaIn(BaseModel):
    id: Str200 = ""
    type: Str32 = ""
    url: Str2048 = ""
    path: Annotated[
        str,
        AfterValidator(_no_path),
        WithJsonSchema(
            {
                "type": "string",
                "maxLength": 0,
                "description": "Not accepted over the API: the service reads no file a "
                "client names.",
            }
        ),
    ] = ""


class PostIn(BaseModel):
    """A post in DESIGN.md's format; only `id` is required. Media are given by URL."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "p1",
                    "text": "سردار دلها حاج قاسم سلیمانی",
                    "lang": "fa",
                    "created_at": "2020-01-03T08:00:00Z",
                    "author": {"id": "u1", "handle": "someone", "country": "IR"},
                    "url": "https://example.social/@u1/1",
                }
            ]
        }
    )

    id: Annotated[
        Name200,
        BeforeValidator(_id_text),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NO_NUL},
                    {"type": "integer"},
                ]
            }
        ),
    ]
    text: Text | None = None
    lang: Str16 | None = None
    created_at: Str40 | None = None
    author: AuthorIn | None = None
    url: Str2048 | None = None
    media: Annotated[list[MediaIn], Field(max_length=32)] | None = None

    def as_post_dict(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if "media" in data:
            for item in data["media"]:
                item.pop("path", None)
        return data


class BatchIn(BaseModel):
    posts: Annotated[list[PostIn], Field(min_length=1, max_length=MAX_BATCH)]


class AuthorOut(BaseModel):
    id: str
    handle: str
    country: str


class MediaOut(BaseModel):
    id: str
    type: str
    path: str
    url: str


class PostOut(BaseModel):
    id: str
    text: str
    lang: str
    created_at: str
    author: AuthorOut
    url: str
    media: list[MediaOut]


# -- decisions ----------------------------------------------------------------------------


class MatchOut(BaseModel):
    entity: str
    signal: str
    span: Annotated[list[int], Field(min_length=2, max_length=2)]
    matched: str
    via: str
    score: float
    media: dict[str, Any] | None = None


class RuleErrorOut(BaseModel):
    rule: str
    error: str


class DecisionOut(BaseModel):
    """A stored decision: DESIGN.md's decision plus its record (id, puid, status, actor)."""

    id: int
    puid: str
    post_id: str = Field(description="The post, or the account for an account decision.")
    subject: str = Field(description="post | account")
    action: str = Field(description="remove | restrict | label | review | allow | suspend")
    policy: str
    policy_version: int
    rule: str | None
    automated: bool
    decided_at: str
    matches: list[MatchOut]
    territorial_scope: list[str] = []
    mode: str = Field(description="live | shadow")
    actor: str
    source: str = Field(description="scan | review | appeal | authority | strikes")
    status: str = Field(description="in_force | pending_review | superseded | reversed | shadow")
    reason: str = ""
    supersedes: int | None = None
    authority_request: int | None = None
    restriction_until: str | None = None
    rule_errors: list[RuleErrorOut] = []


class BatchAccepted(BaseModel):
    id: str
    state: str
    total: int
    status_url: str


class BatchItemOut(BaseModel):
    post_id: str
    decision_id: int | None
    puid: str | None
    action: str | None
    status: str | None


class BatchOut(BaseModel):
    id: str
    state: str = Field(description="queued | running | done | failed | pending (another worker)")
    total: int
    decided: int
    submitted_by: str
    submitted_at: str
    policy: str
    policy_version: int
    error: str
    items: list[BatchItemOut]


# -- reviews and appeals ------------------------------------------------------------------


class ReviewItemOut(BaseModel):
    review_id: int
    reason: str = Field(description="rule | sample | appeal")
    queued_at: str
    appeal_id: int | None
    decision: DecisionOut
    post: PostOut | None


class ReviewDecideIn(BaseModel):
    action: HumanAction
    reason: Reason = Field(description="Why, in words (shown to the author).")
    territorial_scope: Annotated[list[Country], Field(max_length=300)] = []


class ReviewOutcomeOut(BaseModel):
    review_id: int
    outcome: str = Field(description="stands (the decision stays) | decided (a new decision)")
    decision: DecisionOut | None = Field(description="The new decision, when there is one.")


class AppealIn(BaseModel):
    filed_by: Name200 = Field(description="The author's account id.")
    statement: Str10k = ""


class AppealFiledOut(BaseModel):
    appeal_id: int
    decision_id: int


class AppealDecideIn(BaseModel):
    outcome: Literal["upheld", "overturned"]
    reason: Reason
    action: HumanAction = Field("allow", description="When overturned: the new, lesser action.")


class AppealDecidedOut(BaseModel):
    appeal_id: int
    outcome: str
    decision: DecisionOut | None


class AppealOut(BaseModel):
    id: int
    decision_id: int
    filed_by: str
    filed_at: str
    statement: str
    status: str
    moderator: str | None
    outcome: str | None
    note: str | None
    decided_at: str | None
    result_decision_id: int | None


# -- policies, orders, keys ---------------------------------------------------------------


class RuleOut(BaseModel):
    id: str
    when: str
    action: str
    territorial_scope: list[str]


class PolicyOut(BaseModel):
    id: str
    version: int
    title: str
    source: str
    live: bool
    shadow: bool
    entities: list[str]
    rules: list[RuleOut]
    text: str = Field(description="The YAML, verbatim.")


class PolicyUploadOut(BaseModel):
    id: str
    version: int
    title: str
    mode: str
    entities: int
    rules: int


class ActivePoliciesOut(BaseModel):
    policy: str | None
    live: int | None
    shadow: int | None


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


class _Order(BaseModel):
    authority: Name1000 = Field(description="Who ordered it: a ministry, a court, an agency.")
    legal_basis: Name1000 = Field(description="The law the order invokes.")
    reference: Str1000 = ""
    issued_on: Annotated[
        date, BeforeValidator(_iso_date), Field(description="The order's date, YYYY-MM-DD.")
    ]
    posts: Annotated[list[PostId], Field(min_length=1, max_length=MAX_BATCH)]


class RemovalOrderIn(_Order):
    """An order to remove content (everywhere, or where `territorial_scope` says)."""

    action: Literal["remove"]
    territorial_scope: Annotated[list[Country], Field(max_length=300)] = []


class RestrictionOrderIn(_Order):
    """An order to withhold content in some countries: `territorial_scope` is required."""

    action: Literal["restrict"]
    territorial_scope: Annotated[list[Country], Field(min_length=1, max_length=300)]


AuthorityIn = Annotated[RemovalOrderIn | RestrictionOrderIn, Field(discriminator="action")]


class AuthorityOut(BaseModel):
    id: int
    authority: str
    legal_basis: str
    reference: str
    issued_on: str
    territorial_scope: list[str]
    action: str
    recorded_at: str
    recorded_by: str
    decisions: list[DecisionOut] = []


class KeyIn(BaseModel):
    owner: Annotated[str, StringConstraints(max_length=200, pattern=OWNER)]
    role: Literal["ingest", "moderator", "admin", "auditor"]


class KeyOut(BaseModel):
    prefix: str
    owner: str
    role: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The whole key. It is shown this once and never again.")


class WhoAmIOut(BaseModel):
    owner: str
    role: str
    prefix: str


# -- audit, health, errors ----------------------------------------------------------------


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    kind: str
    actor: str
    subject: str
    payload: Any
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )


class FindingOut(BaseModel):
    seq: int
    problem: str


class VerificationOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    finding: FindingOut | None


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str = Field(description="ready | not ready")
    database: bool
    policy: str | None
    problems: list[str]


class ProblemOut(BaseModel):
    message: str
    location: str | None = Field(None, description="Where in the request, e.g. body.posts.0.id")
    file: str | None = None
    line: int | None = Field(None, description="A policy problem's line in the uploaded YAML")


class ErrorOut(BaseModel):
    error: str = Field(description="A short code: invalid_request, unauthorized, not_found, …")
    message: str
    problems: list[ProblemOut] = []
