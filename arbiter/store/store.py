"""The Store: Arbiter's record of posts, policies and decisions, on SQLite or PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select, update

from arbiter.engine import utc_now
from arbiter.model import Decision, Post
from arbiter.policy.enforcement import Enforcement, Strikes
from arbiter.policy.load import parse_policy
from arbiter.policy.model import Policy
from arbiter.store import audit, authority, moderation
from arbiter.store.authority import AuthorityRequest
from arbiter.store.bulk import insert_rows
from arbiter.store.database import connect, database_url, migrate, one_of, reading
from arbiter.store.effects import (
    active_strikes,
    current_suspension,
    post_state,
    write_decisions,
)
from arbiter.store.records import (
    StoredDecision,
    content_hash,
    decision_row,
    dedupe_key,
    digest,
    post_from_row,
    post_row,
    stored_decision,
)
from arbiter.store.schema import (
    activations,
    appeals,
    authority_requests,
    decisions,
    metadata,
    policies,
    posts,
    reviews,
)

# An order against content is not the author breaking the platform's terms: no strike.
ORDERS_GIVE_NO_STRIKES = Enforcement(strikes=Strikes(actions=()))


class StoreError(ValueError):
    """A request the store refuses, with the reason in words."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a batch of decisions did."""

    new: int
    existing: int


class Store:
    """One database: open it with `Store.open(url)`; every method is one transaction."""

    def __init__(self, engine: Engine, clock: Callable[[], str] = utc_now):
        self.engine = engine
        self.clock = clock
        self._policies: dict[tuple[str, int], Policy] = {}

    @classmethod
    def open(cls, url: str | None = None, clock: Callable[[], str] = utc_now) -> Store:
        """Open (and migrate) the database at `url`, a path, or $ARBITER_DATABASE_URL."""
        engine = connect(database_url(url))
        migrate(engine)
        return cls(engine, clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Policies ------------------------------------------------------------------------------

    def save_policy(self, policy: Policy, actor: str = "system") -> bool:
        """Keep `policy` verbatim; True if it is new. A changed text needs a new version."""
        sha = hashlib.sha256(policy.text.encode()).hexdigest()
        with self.engine.begin() as connection:
            audit.lock_head(connection)  # serializes the check with the insert below
            stored = connection.execute(
                select(policies.c.sha256).where(
                    policies.c.policy_id == policy.id, policies.c.version == policy.version
                )
            ).scalar()
            if stored == sha:
                return False
            if stored is not None:
                raise StoreError(
                    f"policy '{policy.id}' version {policy.version} is already stored with "
                    "different text: give the changed policy a new version number"
                )
            at = self.clock()
            connection.execute(
                insert(policies).values(
                    policy_id=policy.id,
                    version=policy.version,
                    sha256=sha,
                    title=policy.title,
                    source=policy.source,
                    text=policy.text,
                    stored_at=at,
                )
            )
            event = audit.Event(
                "policy.stored",
                actor,
                f"policy:{policy.id}@{policy.version}",
                {"sha256": sha, "title": policy.title, "source": policy.source},
            )
            audit.append(connection, [event], at)
        self._policies[(policy.id, policy.version)] = policy
        return True

    def activate(self, policy: Policy, mode: str = "live", actor: str = "system") -> None:
        """Make `policy` the live version of its id, or run it beside the live one in shadow."""
        if mode not in ("live", "shadow"):
            raise StoreError(f"mode must be live or shadow, not {mode!r}")
        self.save_policy(policy, actor)
        with self.engine.begin() as connection:
            audit.lock_head(connection)
            current = connection.execute(
                select(activations.c.version).where(
                    activations.c.policy_id == policy.id, activations.c.mode == mode
                )
            ).scalar()
            if current == policy.version:
                return
            at = self.clock()
            values = {"version": policy.version, "activated_at": at}
            if current is None:
                connection.execute(
                    insert(activations).values(policy_id=policy.id, mode=mode, **values)
                )
            else:
                connection.execute(
                    update(activations)
                    .where(activations.c.policy_id == policy.id, activations.c.mode == mode)
                    .values(**values)
                )
            event = audit.Event(
                "policy.activated",
                actor,
                f"policy:{policy.id}@{policy.version}",
                {"mode": mode, "replaces": current},
            )
            audit.append(connection, [event], at)

    def active_version(self, policy_id: str, mode: str = "live") -> int | None:
        """The version of `policy_id` active in `mode`, if any."""
        with reading(self.engine) as connection:
            version = connection.execute(
                select(activations.c.version).where(
                    activations.c.policy_id == policy_id, activations.c.mode == mode
                )
            ).scalar()
        return None if version is None else int(version)

    def policy(self, policy_id: str, version: int) -> Policy:
        """A stored policy version, parsed from its verbatim text."""
        key = (policy_id, version)
        if key not in self._policies:
            with reading(self.engine) as connection:
                row = connection.execute(
                    select(policies.c.text, policies.c.source).where(
                        policies.c.policy_id == policy_id, policies.c.version == version
                    )
                ).first()
            if row is None:
                raise StoreError(f"policy '{policy_id}' version {version} is not stored")
            self._policies[key] = parse_policy(row.text, row.source or f"{policy_id}@{version}")
        return self._policies[key]

    # Decisions ------------------------------------------------------------------------------

    def record(
        self, policy: Policy, pairs: Sequence[tuple[Post, Decision]], mode: str = "live"
    ) -> Recorded:
        """Store posts and their decisions; content already decided by this version is skipped."""
        if not pairs:
            return Recorded(0, 0)
        if (policy.id, policy.version) not in self._policies:
            self.save_policy(policy)
        at = self.clock()
        hashes = [content_hash(post) for post, _ in pairs]
        keys = [
            dedupe_key(mode, policy.id, policy.version, post.id, h)
            for (post, _), h in zip(pairs, hashes, strict=True)
        ]
        with self.engine.begin() as connection:
            # Writers take the chain's head first: on PostgreSQL this serializes them, so the
            # check for decisions already recorded cannot race another scan of the same posts.
            audit.lock_head(connection)
            known = set(
                connection.execute(
                    select(decisions.c.dedupe_key).where(
                        one_of(connection, decisions.c.dedupe_key, keys)
                    )
                ).scalars()
            )
            fresh = []
            for (post, decision), h, k in zip(pairs, hashes, keys, strict=True):
                if k not in known:  # also skips a post repeated within the batch
                    known.add(k)
                    fresh.append((post, decision, h, k))
            stored = _stored_posts(connection, [post.id for post, *_ in fresh])
            # A post the store has not seen has no decisions yet: nothing to supersede.
            current = (
                _current_decisions(connection, policy.id, list(stored))
                if mode == "live" and stored
                else {}
            )
            rows = [
                decision_row(
                    decision,
                    mode=mode,
                    content=h,
                    key=k,
                    status=_initial_status(decision, mode),
                    supersedes=current.get(post.id),
                )
                for post, decision, h, k in fresh
            ]
            new_posts = self._save_posts(connection, fresh, rows, stored, at)
            authors = {post.id: post.author.id for post, _, _, _ in fresh if post.author.id}
            write_decisions(connection, rows, policy.enforcement, at, authors, new_posts=new_posts)
        return Recorded(len(fresh), len(pairs) - len(fresh))

    def _save_posts(
        self,
        connection: Connection,
        fresh: list[tuple[Post, Decision, str, str]],
        rows: list[dict[str, Any]],
        stored: dict[str, str],
        at: str,
    ) -> frozenset[str]:
        """Insert the posts not yet stored, each in the state its new decisions give it, and
        update the content of edited ones; the ids of the posts inserted."""
        new: dict[str, dict[str, Any]] = {}
        decided: dict[str, list[dict[str, Any]]] = {}
        for (post, _, h, _), row in zip(fresh, rows, strict=True):
            if post.id not in stored:
                new[post.id] = post_row(post, h, at)
                decided.setdefault(post.id, []).append(row)
            elif stored[post.id] != h:
                # An edited post: keep the newest content; its decisions keep their own hash.
                edited = post_row(post, h, at)
                del edited["first_seen"], edited["state"], edited["id"]
                connection.execute(update(posts).where(posts.c.id == post.id).values(**edited))
                stored[post.id] = h
        for post_id, row in new.items():
            row["state"] = post_state(decided[post_id])
        insert_rows(connection, posts, list(new.values()))
        return frozenset(new)

    def decision(self, ref: int | str) -> StoredDecision:
        """A decision by id or puid."""
        column = decisions.c.id if isinstance(ref, int) or ref.isdigit() else decisions.c.puid
        value: int | str = int(ref) if column is decisions.c.id else ref
        with reading(self.engine) as connection:
            row = connection.execute(select(decisions).where(column == value)).first()
        if row is None:
            raise StoreError(f"no decision {ref}")
        return stored_decision(row)

    def decisions_of(self, post_id: str, subject: str = "post") -> list[StoredDecision]:
        """Every decision about a post (or an account), oldest first."""
        with reading(self.engine) as connection:
            rows = connection.execute(
                select(decisions)
                .where(decisions.c.post_id == post_id, decisions.c.subject == subject)
                .order_by(decisions.c.id)
            ).all()
        return [stored_decision(row) for row in rows]

    def post(self, post_id: str) -> Post:
        """A stored post."""
        with reading(self.engine) as connection:
            row = connection.execute(select(posts).where(posts.c.id == post_id)).first()
        if row is None:
            raise StoreError(f"no post {post_id}")
        return post_from_row(row)

    def post_state(self, post_id: str) -> str:
        """visible, removed, restricted or labelled: what the live decisions in force make it."""
        with reading(self.engine) as connection:
            state = connection.execute(select(posts.c.state).where(posts.c.id == post_id)).scalar()
        if state is None:
            raise StoreError(f"no post {post_id}")
        return str(state)

    def stored_posts(self, batch: int = 1000) -> Iterator[list[Post]]:
        """Every stored post, in id order, a batch at a time."""
        after = ""
        while True:
            with reading(self.engine) as connection:
                rows = connection.execute(
                    select(posts).where(posts.c.id > after).order_by(posts.c.id).limit(batch)
                ).all()
            if not rows:
                return
            yield [post_from_row(row) for row in rows]
            after = rows[-1].id

    def count(self, table: str) -> int:
        """Rows in one of the store's tables (for reports and tests)."""
        with reading(self.engine) as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(metadata.tables[table])
                ).scalar_one()
            )

    # Review, appeals, orders --------------------------------------------------------------

    def review_queue(self, limit: int = 50) -> list[moderation.QueueItem]:
        """Open reviews, oldest first."""
        with reading(self.engine) as connection:
            return moderation.review_queue(connection, limit)

    def decide_review(
        self,
        review_id: int,
        moderator: str,
        action: str,
        note: str,
        territorial_scope: tuple[str, ...] = (),
    ) -> StoredDecision | None:
        """A moderator's outcome for a queued decision; the new decision if it changed."""
        with self.engine.begin() as connection:
            decision_id = connection.execute(
                select(reviews.c.decision_id).where(reviews.c.id == review_id)
            ).scalar()
            enforcement = self._enforcement_of(connection, decision_id)
            return moderation.decide_review(
                connection,
                review_id,
                moderator,
                action,
                note,
                enforcement,
                self.clock(),
                territorial_scope,
            )

    def file_appeal(self, decision_id: int, filed_by: str, statement: str) -> int:
        """The author contests a decision; it goes to a moderator who was not involved."""
        with self.engine.begin() as connection:
            enforcement = self._enforcement_of(connection, decision_id)
            return moderation.file_appeal(
                connection, decision_id, filed_by, statement, enforcement, self.clock()
            )

    def decide_appeal(
        self, appeal_id: int, moderator: str, outcome: str, note: str, action: str = "allow"
    ) -> StoredDecision | None:
        """Uphold or overturn an appeal; an overturn returns the decision that replaces it."""
        with self.engine.begin() as connection:
            decision_id = connection.execute(
                select(appeals.c.decision_id).where(appeals.c.id == appeal_id)
            ).scalar()
            enforcement = self._enforcement_of(connection, decision_id)
            return moderation.decide_appeal(
                connection, appeal_id, moderator, outcome, note, enforcement, self.clock(), action
            )

    def appeals(self, status: str | None = None) -> list[dict[str, Any]]:
        """Appeals, oldest first, optionally only `open` or `decided` ones."""
        query = select(appeals).order_by(appeals.c.id)
        if status:
            query = query.where(appeals.c.status == status)
        with reading(self.engine) as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def record_authority_request(
        self, request: AuthorityRequest, post_ids: list[str]
    ) -> tuple[int, list[StoredDecision]]:
        """Record a government's or court's order and the decisions it causes."""
        with self.engine.begin() as connection:
            request_id, written = authority.record_request(
                connection, request, post_ids, ORDERS_GIVE_NO_STRIKES
            )
            rows = connection.execute(
                select(decisions).where(one_of(connection, decisions.c.id, [w.id for w in written]))
            ).all()
        return request_id, [stored_decision(row) for row in rows]

    def authority_requests(self) -> list[AuthorityRequest]:
        """Every recorded order, oldest first."""
        with reading(self.engine) as connection:
            rows = connection.execute(
                select(authority_requests).order_by(authority_requests.c.id)
            ).all()
        return [authority.stored_request(row) for row in rows]

    def active_strikes(self, author_id: str) -> int:
        """Strikes that count against an author now."""
        with reading(self.engine) as connection:
            return active_strikes(connection, author_id, self.clock())

    def suspended_until(self, author_id: str) -> str | None:
        """When the author's suspension ends, if one is in force."""
        with reading(self.engine) as connection:
            row = current_suspension(connection, author_id, self.clock())
            if row is None:
                return None
            return str(
                connection.execute(
                    select(decisions.c.restriction_until).where(decisions.c.id == row.id)
                ).scalar_one()
            )

    def _enforcement_of(self, connection: Connection, decision_id: int | None) -> Enforcement:
        if decision_id is None:
            return Enforcement()  # the caller's lookup will report what is missing
        row = connection.execute(
            select(decisions.c.policy_id, decisions.c.policy_version).where(
                decisions.c.id == decision_id
            )
        ).first()
        if row is None or row.policy_id == authority.AUTHORITY_POLICY:
            return ORDERS_GIVE_NO_STRIKES
        return self.policy(row.policy_id, row.policy_version).enforcement

    # Audit ---------------------------------------------------------------------------------

    def verify_audit(self, anchor: tuple[int, str] | None = None) -> audit.Verification:
        """Recompute the chain, then check every decision row against the digest logged for it."""
        with reading(self.engine) as connection:
            result = audit.verify(connection, anchor)
            if not result.ok:
                return result
            finding = _altered_decision(connection)
        if finding is None:
            return result
        return audit.Verification(result.entries, result.head_seq, result.head_hash, finding)

    def export_audit(self, sink: IO[bytes]) -> int:
        """Write the log as JSONL, one entry per line, for outside verification."""
        count = 0
        with reading(self.engine) as connection:
            for entry in audit.entries(connection):
                sink.write(orjson.dumps(entry.as_dict()) + b"\n")
                count += 1
        return count


def _stored_posts(connection: Connection, post_ids: list[str]) -> dict[str, str]:
    """The content hash of each of these posts the store already holds."""
    if not post_ids:
        return {}
    return dict(
        connection.execute(
            select(posts.c.id, posts.c.content_hash).where(
                one_of(connection, posts.c.id, list(dict.fromkeys(post_ids)))
            )
        ).all()
    )


def _current_decisions(
    connection: Connection, policy_id: str, post_ids: list[str]
) -> dict[str, int]:
    """The live decision of a policy now standing on each post (a new version replaces it)."""
    rows = connection.execute(
        select(decisions.c.post_id, decisions.c.id).where(
            one_of(connection, decisions.c.post_id, post_ids),
            decisions.c.subject == "post",
            decisions.c.policy_id == policy_id,
            decisions.c.mode == "live",
            decisions.c.status.in_(("in_force", "pending_review")),
        )
    ).all()
    return {row.post_id: row.id for row in sorted(rows, key=lambda r: r.id)}


def _initial_status(decision: Decision, mode: str) -> str:
    if mode == "shadow":
        return "shadow"
    return "pending_review" if decision.action == "review" else "in_force"


def _altered_decision(connection: Connection) -> audit.Finding | None:
    """The first decision row whose content differs from what the log recorded."""
    logged: dict[str, tuple[int, str]] = {}
    for entry in audit.entries(connection):
        if entry.kind == "decision":
            payload = orjson.loads(entry.payload)
            logged[entry.subject.removeprefix("decision:")] = (entry.seq, payload["digest"])
    seen = set()
    for row in connection.execute(select(decisions).order_by(decisions.c.id)):
        seen.add(row.puid)
        if row.puid not in logged:
            return audit.Finding(0, f"decision {row.id} ({row.puid}) was never logged: inserted")
        seq, expected = logged[row.puid]
        if digest(row) != expected:
            return audit.Finding(
                seq, f"decision {row.id} ({row.puid}) was altered after it was logged"
            )
    missing = sorted(set(logged) - seen)
    if missing:
        seq = logged[missing[0]][0]
        return audit.Finding(seq, f"decision {missing[0]} was logged but is no longer stored")
    return None
