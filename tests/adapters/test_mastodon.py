"""The Mastodon adapter against a fake instance that checks requests as Mastodon documents them.

Pages cited (docs.joinmastodon.org):
- admin/webhooks: events, the `{"event", "created_at", "object"}` body, `X-Hub-Signature`;
  Mastodon's Webhooks::DeliveryWorker signs `sha256=<hex HMAC-SHA256 of the body>`.
- entities/Status, entities/MediaAttachment: what a status carries.
- methods/admin/accounts#action: POST /api/v1/admin/accounts/:id/action, form `type`
  (none|sensitive|disable|silence|suspend), `report_id`, `text`, `send_email_notification`;
  #unsilence, #unsuspend, #unsensitive take an action back.
- methods/reports#post: POST /api/v1/reports, form `account_id`, `status_ids[]`, `comment`,
  `forward`, `category`, `rule_ids[]` (category `violation` needs valid rule ids, else 422).
- methods/admin/reports#update (PUT /api/v1/admin/reports/:id, `category`, `rule_ids[]`),
  #resolve and #reopen (POST /api/v1/admin/reports/:id/resolve | /reopen).
- methods/instance#rules: GET /api/v1/instance/rules.
Every method takes `Authorization: Bearer <user token>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arbiter.adapters.mastodon import (
    MastodonConfig,
    MastodonConfigError,
    html_to_text,
    platform_actions_of,
    status_to_post,
)
from arbiter.outbound.delivery import DeliveryWorker
from arbiter.outbound.webhooks import add_endpoint, signature_header
from arbiter.store import Store
from tests.adapters.conftest import Setup
from tests.adapters.fake_mastodon import TOKEN, FakeMastodon
from tests.adapters.payloads import (
    DOMAIN,
    EVENTS_SECRET,
    account,
    attachment,
    event,
    hashtag,
    mention,
    report,
    signed,
    status,
)
from tests.conftest import Clock
from tests.outbound.helpers import strict

Make = Callable[..., Setup]
PREFIX = f"mastodon:{DOMAIN}:"
FORM = "application/x-www-form-urlencoded"
CAMPAIGN = f"<p>{hashtag('SardarDelha')} forever</p>"  # hashtag-campaign -> restrict
PRAISE = "<p>Glory to Qassem Soleimani, the commander</p>"  # designated-person -> review
HARMLESS = "<p>The weather in Tehran is lovely today</p>"  # allow
RULE_TEXT = (
    "restrict under policy dangerous-individuals v1, rule hashtag-campaign "
    "(Community Guidelines 4.2 (dangerous individuals and organisations))"
)


def only(calls: list[Any]) -> Any:
    assert len(calls) == 1, calls
    return calls[0]


def deliver_events(setup: Setup) -> list[Any]:
    """Send the outbox to the adapter's /events route, as `arbiter webhooks deliver` would."""
    with DeliveryWorker(setup.store, client=setup.client) as worker:
        outcomes = []
        while batch := worker.run_once():
            outcomes += batch
    return outcomes


def subscribe(setup: Setup) -> None:
    add_endpoint(setup.store, "http://testserver/v1/adapters/mastodon/events", secret=EVENTS_SECRET)


# HTML to text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (f"<p>RIP {hashtag('SardarDelha')}</p>", "RIP #SardarDelha"),
        (f"<p>{mention('bob')} look</p>", "@bob look"),
        (
            '<p>read <a href="https://www.theguardian.com/world/2020/jan/03/x" rel="nofollow '
            'noopener" target="_blank"><span class="invisible">https://www.</span><span '
            'class="ellipsis">theguardian.com/world/2020/ja</span><span class="invisible">'
            "n/03/x</span></a> now</p>",
            "read https://www.theguardian.com/world/2020/jan/03/x now",
        ),
        ("<p>one<br />two<br>three</p><p>four</p>", "one\ntwo\nthree\n\nfour"),
        ("<p>a</p>\n<p>b</p>", "a\n\nb"),
        ("<p>&quot;q&quot; &amp; &lt;b&gt; &#39;s&#39; caf&eacute;</p>", "\"q\" & <b> 's' café"),
        ("<p>RIP :rip: :flag_ir: 🇮🇷</p>", "RIP :rip: :flag_ir: 🇮🇷"),
        (
            f"<p>سردار دلها {hashtag('سردار_دلها')}</p><p>می\u200cخواهم</p>",
            "سردار دلها #سردار_دلها\n\nمی\u200cخواهم",
        ),
        (
            "<p>\u200fشهید\u200f — general\u00a0Soleimani</p>",
            "\u200fشهید\u200f — general\u00a0Soleimani",
        ),
        ("<p>spaced\n   out\ttext </p>", "spaced out text"),
        ("<blockquote><p>q</p></blockquote><ul><li>a</li><li>b</li></ul>", "q\n\na\nb"),
        ("<pre><code>x  = 1\n  y</code></pre>", "x  = 1\n  y"),
        ("", ""),
    ],
    ids=[
        "hashtag",
        "mention",
        "link",
        "br-and-p",
        "newline-between-p",
        "entities",
        "emoji",
        "rtl-zwnj",
        "bidi-marks-nbsp",
        "whitespace",
        "blocks",
        "pre",
        "empty",
    ],
)
def test_html_becomes_the_text_the_author_wrote(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_a_status_becomes_a_post() -> None:
    config = MastodonConfig(base_url=f"https://{DOMAIN}")
    media = [
        attachment("31", "image"),
        attachment("32", "gifv"),
        attachment("33", "video", url=""),  # still processing: the preview stands in
        attachment("34", "audio"),
    ]
    found = status_to_post(
        status(
            "1001",
            f"<p>{hashtag('Soleimani')} RIP</p>",
            tags=["Soleimani", "Haj"],
            media=media,
            language="fa",
            spoiler="CW: death",
        ),
        config,
    )
    assert found.id == f"{PREFIX}1001"
    assert found.text == "CW: death\n\n#Soleimani RIP\n\n#Haj"  # a tag not in the text is kept
    assert found.lang == "fa" and found.created_at == "2026-11-24T11:29:13Z"
    assert found.url == f"https://{DOMAIN}/@alice/1001"
    assert (found.author.id, found.author.handle) == (f"{PREFIX}7", f"alice@{DOMAIN}")
    assert [(m.id, m.type, m.url.rsplit("/", 2)[-2]) for m in found.media] == [
        ("31", "image", "original"),
        ("32", "video", "original"),
        ("33", "video", "small"),
    ]
    remote = status_to_post(
        status("5", "<p>x</p>", author=account("88", "bob@other.example"), language=None), config
    )
    assert remote.author.handle == "bob@other.example" and remote.lang == ""
    assert remote.author.id == f"{PREFIX}88"


# Receiving -----------------------------------------------------------------------------------


def test_a_bad_signature_is_refused_with_401(make: Make) -> None:
    setup = make()
    body = event("status.created", status("1001", CAMPAIGN))
    for headers in (
        {},
        signed(body, "some-other-secret-entirely"),
        {"X-Hub-Signature": signed(body)["X-Hub-Signature"].replace("sha256=", "sha1=")},
    ):
        response = setup.post(body, headers)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    tampered = body.replace(b"forever", b"for ever")
    assert setup.post(tampered, signed(body)).status_code == 401
    assert setup.store.count("decisions") == 0 and setup.fake.calls == []


def test_an_unsupported_event_is_ignored_with_202(make: Make) -> None:
    setup = make()
    body = event("account.created", {"id": "7", "username": "alice"})
    response = setup.post(body, signed(body))
    assert response.status_code == 202 and response.json()["event"] == "account.created"
    assert setup.store.count("decisions") == 0
    junk = b"not json"
    assert setup.post(junk, signed(junk)).status_code == 400


def test_a_new_status_is_decided_and_a_restriction_reported(make: Make) -> None:
    setup = make()
    body = event("status.created", status("1001", CAMPAIGN))
    response = setup.post(body, signed(body))
    assert response.status_code == 200
    answer = response.json()
    assert [(d["post_id"], d["action"], d["status"]) for d in answer["decisions"]] == [
        (f"{PREFIX}1001", "restrict", "in_force")
    ]
    stored = setup.store.decisions_of(f"{PREFIX}1001")[0]
    assert setup.store.post(f"{PREFIX}1001").text == "#SardarDelha forever"
    call = only(setup.fake.calls)
    assert (call.method, call.path, call.authorization) == (
        "POST",
        "/api/v1/reports",
        f"Bearer {TOKEN}",
    )
    assert call.content_type.startswith(FORM)
    comment = call.form.pop("comment")[0]
    assert call.form == {
        "account_id": ["7"],
        "status_ids[]": ["1001"],
        "forward": ["false"],
        "category": ["other"],  # no instance rule configured: `violation` would be refused
    }
    assert comment == (
        f"[Arbiter] decision {stored.puid}: {RULE_TEXT}. Status: https://{DOMAIN}/@alice/1001."
    )
    assert [(a["kind"], a["status"], a["remote_id"]) for a in answer["actions"]] == [
        ("report", "awaiting", "500")
    ]
    shown = platform_actions_of(setup.store, status="awaiting")
    assert [(a["decision_id"], a["kind"], a["remote_id"]) for a in shown] == [
        (stored.id, "report", "500")
    ]


def test_a_report_cites_the_configured_instance_rules(make: Make) -> None:
    setup = make(rule_ids={"dangerous-individuals/hashtag-campaign": (2,)})
    body = event("status.created", status("1001", CAMPAIGN))
    setup.post(body, signed(body))
    call = only(setup.fake.calls_to("POST", "/api/v1/reports"))
    assert call.form["category"] == ["violation"] and call.form["rule_ids[]"] == ["2"]


def test_a_configured_measure_acts_on_the_account(make: Make) -> None:
    setup = make(actions={"restrict": "silence"}, send_email_notification=True)
    body = event("status.created", status("1001", CAMPAIGN))
    answer = setup.post(body, signed(body)).json()
    call = only(setup.fake.calls)
    assert (call.method, call.path, call.authorization) == (
        "POST",
        "/api/v1/admin/accounts/7/action",
        f"Bearer {TOKEN}",
    )
    text = call.form.pop("text")[0]
    assert call.form == {"type": ["silence"], "send_email_notification": ["true"]}
    assert RULE_TEXT in text and text.startswith("[Arbiter] decision arb-")
    assert [(a["kind"], a["status"], a["remote_id"]) for a in answer["actions"]] == [
        ("account_action", "done", "7")
    ]


def test_nothing_is_done_unless_configured_to_act(make: Make) -> None:
    setup = make(act=False)
    body = event("status.created", status("1001", CAMPAIGN))
    answer = setup.post(body, signed(body)).json()
    assert answer["decisions"][0]["action"] == "restrict" and answer["actions"] == []
    assert setup.fake.calls == [] and platform_actions_of(setup.store) == []


def test_a_review_waits_and_allowed_posts_are_left_alone(make: Make) -> None:
    setup = make()
    for number, html in (("1", PRAISE), ("2", HARMLESS)):
        body = event("status.created", status(number, html))
        setup.post(body, signed(body))
    assert setup.fake.calls == []
    assert [d.status for d in setup.store.decisions_of(f"{PREFIX}1")] == ["pending_review"]


def test_the_same_webhook_twice_acts_once(make: Make) -> None:
    setup = make()
    body = event("status.created", status("1001", CAMPAIGN))
    setup.post(body, signed(body))
    again = setup.post(body, signed(body)).json()
    assert again["actions"] == []
    assert len(setup.fake.calls_to("POST", "/api/v1/reports")) == 1


def test_an_edited_status_is_decided_again(make: Make) -> None:
    setup = make()
    first = event("status.created", status("1001", HARMLESS))
    setup.post(first, signed(first))
    edited = event("status.updated", status("1001", CAMPAIGN))
    setup.post(edited, signed(edited))
    history = setup.store.decisions_of(f"{PREFIX}1001")
    assert [(d.decision.action, d.status) for d in history] == [
        ("allow", "superseded"),
        ("restrict", "in_force"),
    ]
    assert len(setup.fake.calls_to("POST", "/api/v1/reports")) == 1


def test_a_boost_is_judged_by_what_it_boosts(make: Make) -> None:
    setup = make()
    boosted = status("900", CAMPAIGN, author=account("12", "carol@other.example"))
    boost = {**status("1002", ""), "reblog": boosted}
    body = event("status.created", boost)
    setup.post(body, signed(body))
    assert setup.store.decisions_of(f"{PREFIX}900")[0].decision.action == "restrict"
    call = only(setup.fake.calls)
    assert call.form["account_id"] == ["12"] and call.form["status_ids[]"] == ["900"]


# Reports -------------------------------------------------------------------------------------


def test_a_report_is_answered_with_an_account_action_naming_it(make: Make) -> None:
    setup = make(actions={"restrict": "silence"})
    setup.fake.reports["8437"] = {"id": "8437", "action_taken": False}
    body = event("report.created", report("8437", [status("1001", CAMPAIGN)]))
    answer = setup.post(body, signed(body)).json()
    call = only(setup.fake.calls)
    assert call.path == "/api/v1/admin/accounts/7/action"
    assert call.form["type"] == ["silence"] and call.form["report_id"] == ["8437"]
    assert setup.fake.reports["8437"]["action_taken"] is True
    kinds = [(a["kind"], a["remote_id"]) for a in platform_actions_of(setup.store)]
    assert sorted(kinds) == [("account_action", "7"), ("report_received", "8437")]
    assert answer["actions"][0]["detail"]["report_id"] == "8437"


def test_a_removal_answering_a_report_updates_it_with_the_rule(make: Make) -> None:
    setup = make(strict(), rule_ids={"dangerous-individuals": [2]})
    body = event("report.created", report("8437", [status("1001", PRAISE)]))
    setup.post(body, signed(body))
    call = only(setup.fake.calls)
    assert (call.method, call.path) == ("PUT", "/api/v1/admin/reports/8437")
    assert call.form == {"category": ["violation"], "rule_ids[]": ["2"]}
    awaiting = platform_actions_of(setup.store, status="awaiting")
    assert [(a["kind"], a["remote_id"], a["detail"]["updated"]) for a in awaiting] == [
        ("report", "8437", True)
    ]


def test_a_report_of_something_allowed_is_resolved_only_when_configured(make: Make) -> None:
    setup = make()
    body = event("report.created", report("8437", [status("1001", HARMLESS)]))
    setup.post(body, signed(body))
    assert setup.fake.calls == []  # by default the instance's moderators judge it
    resolving = make(resolve_allowed_reports=True)
    other = event("report.created", report("8438", [status("1002", HARMLESS)]))
    resolving.post(other, signed(other))
    call = only(setup.fake.calls)
    assert (call.method, call.path, call.form) == (
        "POST",
        "/api/v1/admin/reports/8438/resolve",
        {},
    )


def test_reports_arbiter_filed_come_back_ignored_and_their_resolution_is_recorded(
    make: Make,
) -> None:
    setup = make()
    body = event("status.created", status("1001", CAMPAIGN))
    setup.post(body, signed(body))
    filed = setup.fake.reports["500"]
    echo = event("report.created", report("500", [status("1001", CAMPAIGN)], filed["comment"]))
    assert setup.post(echo, signed(echo)).status_code == 202
    resolved = report("500", [status("1001", CAMPAIGN)], filed["comment"])
    resolved.update(action_taken=True, action_taken_at="2026-11-25T12:00:00.000Z")
    resolved["action_taken_by_account"] = {"id": "1", "username": "admin"}
    update = event("report.updated", resolved)
    answer = setup.post(update, signed(update)).json()
    assert [a["status"] for a in answer["actions"]] == ["done"]
    action = platform_actions_of(setup.store)[0]
    assert action["status"] == "done" and action["detail"]["resolved_by"] == "admin"
    assert platform_actions_of(setup.store, status="awaiting") == []


# Later decisions, reversals and suspensions, through Arbiter's own webhooks -------------------


def test_a_moderators_later_decision_acts_on_the_report_it_answers(make: Make) -> None:
    setup = make(actions={"restrict": "silence"})
    subscribe(setup)
    setup.fake.reports["8437"] = {"id": "8437", "action_taken": False}
    body = event("report.created", report("8437", [status("1001", PRAISE)]))
    setup.post(body, signed(body))
    assert setup.fake.calls == []  # review: nothing until a person decides
    item = setup.store.review_queue()[0]
    setup.store.decide_review(item.review_id, "m1", "restrict", "a campaign post")
    outcomes = deliver_events(setup)
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    call = only(setup.fake.calls)
    assert call.path == "/api/v1/admin/accounts/7/action"
    assert call.form["type"] == ["silence"] and call.form["report_id"] == ["8437"]
    assert "a campaign post" in call.form["text"][0]


def test_a_reversal_takes_back_the_action_and_reopens_the_report(make: Make) -> None:
    setup = make(actions={"restrict": "silence"})
    subscribe(setup)
    setup.fake.reports["8437"] = {"id": "8437", "action_taken": False}
    body = event("report.created", report("8437", [status("1001", CAMPAIGN)]))
    setup.post(body, signed(body))
    restricted = setup.store.decisions_of(f"{PREFIX}1001")[0]
    appeal = setup.store.file_appeal(restricted.id, f"{PREFIX}7", "a news report")
    setup.store.decide_appeal(appeal, "m2", "overturned", "reporting, not a campaign")
    deliver_events(setup)
    assert [(c.method, c.path) for c in setup.fake.calls] == [
        ("POST", "/api/v1/admin/accounts/7/action"),
        ("POST", "/api/v1/admin/accounts/7/unsilence"),
        ("POST", "/api/v1/admin/reports/8437/reopen"),
    ]
    assert all(c.authorization == f"Bearer {TOKEN}" for c in setup.fake.calls)
    assert setup.fake.reports["8437"]["action_taken"] is False
    undone = [a["kind"] for a in platform_actions_of(setup.store)[:2]]
    assert undone == ["report_reopen", "account_action_undo"]


def test_a_reversed_removal_withdraws_the_report_arbiter_filed(make: Make) -> None:
    setup = make(strict(suspend_after=5))
    subscribe(setup)
    body = event("status.created", status("1001", PRAISE))
    setup.post(body, signed(body))
    removal = setup.store.decisions_of(f"{PREFIX}1001")[0]
    assert removal.decision.action == "remove"
    appeal = setup.store.file_appeal(removal.id, f"{PREFIX}7", "")
    setup.store.decide_appeal(appeal, "m2", "overturned", "not praise")
    deliver_events(setup)
    assert [(c.method, c.path) for c in setup.fake.calls] == [
        ("POST", "/api/v1/reports"),
        ("POST", "/api/v1/admin/reports/500/resolve"),
    ]
    statuses = {a["kind"]: a["status"] for a in platform_actions_of(setup.store)}
    assert statuses == {"report": "withdrawn", "report_withdraw": "done"}


def test_a_suspension_suspends_and_its_lifting_unsuspends(make: Make) -> None:
    setup = make(strict(suspend_after=2), actions={"remove": "none"})
    subscribe(setup)
    for number in ("1", "2"):
        body = event("status.created", status(number, PRAISE))
        setup.post(body, signed(body))
    call = only(setup.fake.calls)
    assert call.path == "/api/v1/admin/accounts/7/action" and call.form["type"] == ["suspend"]
    assert "report_id" not in call.form and "2 strikes within 90 days" in call.form["text"][0]
    removal = setup.store.decisions_of(f"{PREFIX}2")[0]
    appeal = setup.store.file_appeal(removal.id, f"{PREFIX}7", "")
    setup.store.decide_appeal(appeal, "m2", "overturned", "not praise")
    deliver_events(setup)
    assert [(c.method, c.path) for c in setup.fake.calls] == [
        ("POST", "/api/v1/admin/accounts/7/action"),
        ("POST", "/api/v1/admin/accounts/7/unsuspend"),
    ]


def test_a_failed_request_to_mastodon_is_retried_through_the_outbox(make: Make) -> None:
    setup = make(actions={"restrict": "silence"})
    subscribe(setup)
    setup.fake.fail[("POST", "/api/v1/admin/accounts/7/action")] = [500, 503]
    body = event("status.created", status("1001", CAMPAIGN))
    answer = setup.post(body, signed(body)).json()
    assert answer["actions"][0]["status"] == "failed"
    assert "HTTP 500" in answer["actions"][0]["detail"]["error"]
    with DeliveryWorker(setup.store, client=setup.client, random=lambda: 0.5) as worker:
        first = worker.run_once()
        assert [(o.status, o.http_status) for o in first] == [("retry", 502)]
        assert isinstance(setup.store.clock, Clock)
        setup.store.clock.advance(seconds=15)
        second = worker.run_once()
    assert [(o.status, o.http_status) for o in second] == [("delivered", 200)]
    kinds = [(a["kind"], a["status"]) for a in reversed(platform_actions_of(setup.store))]
    assert kinds == [
        ("account_action", "failed"),
        ("account_action", "failed"),
        ("account_action", "done"),
    ]


def test_the_events_route_checks_arbiters_signature(make: Make, store: Store) -> None:
    setup = make()
    payload = json.dumps({"event": "decision", "decision": {"id": 1}}).encode()
    route = "/v1/adapters/mastodon/events"
    assert setup.client.post(route, content=payload).status_code == 401
    wrong = {"Arbiter-Signature": signature_header("whsec_not-the-events-secret", payload)}
    assert setup.client.post(route, content=payload, headers=wrong).status_code == 401
    right = {"Arbiter-Signature": signature_header(EVENTS_SECRET, payload)}
    assert setup.client.post(route, content=payload, headers=right).status_code == 202
    from tests.store.helpers import policy, post, scan

    scan(store, policy(), [post("not-mastodon", "#SardarDelha forever")])
    mine = json.dumps({"decision": {"id": store.decisions_of("not-mastodon")[0].id}}).encode()
    signed_mine = {"Arbiter-Signature": signature_header(EVENTS_SECRET, mine)}
    answer = setup.client.post(route, content=mine, headers=signed_mine)
    assert answer.status_code == 200 and answer.json()["actions"] == []  # not this instance's
    assert setup.fake.calls == []


# Configuration -------------------------------------------------------------------------------


def test_configuration_reads_yaml_and_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "mastodon.yaml"
    path.write_text(
        "base_url: https://example.social\nact: true\nactions: {restrict: silence}\n"
        "rule_ids:\n  dangerous-individuals: [2, 3]\n  dangerous-individuals/praise: 4\n"
    )
    env = {"ARBITER_MASTODON_TOKEN": "t0ken", "ARBITER_MASTODON_WEBHOOK_SECRET": "s3cret"}
    config = MastodonConfig.load(path, env)
    assert config is not None
    assert (config.token, config.webhook_secret, config.act) == ("t0ken", "s3cret", True)
    assert config.measure("restrict") == "silence" and config.measure("remove") == "report"
    assert config.measure("review") == "none" and config.measure("suspend") == "suspend"
    assert config.rules_for("dangerous-individuals", "praise") == (4,)
    assert config.rules_for("dangerous-individuals", "other") == (2, 3)
    assert config.id_prefix == "mastodon:example.social:"
    assert "t0ken" not in repr(config)
    assert MastodonConfig.load(None, {}) is None
    from_env = MastodonConfig.load(None, {"ARBITER_MASTODON_URL": "https://m.example"})
    assert from_env is not None and from_env.act is False


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"base_url": "example.social"}, "base_url must be"),
        ({"base_url": "https://e.x", "actions": {"remove": "delete"}}, "'delete' is not one of"),
        ({"base_url": "https://e.x", "actions": {"review": "silence"}}, "'review' is not one"),
        ({"base_url": "https://e.x", "actions": {"suspend": "report"}}, "no status to report"),
        ({"base_url": "https://e.x", "act": True}, "there is no token"),
        ({"base_url": "https://e.x", "acts": True}, "unknown setting(s): acts"),
        ({}, "base_url is missing"),
    ],
)
def test_a_bad_configuration_says_what_is_wrong(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(MastodonConfigError) as raised:
        MastodonConfig.from_mapping(settings, {})
    assert problem in str(raised.value)


def test_the_cli_lists_rules_and_actions(make: Make, tmp_path: Path, fake: FakeMastodon) -> None:
    from typer.testing import CliRunner

    from arbiter.cli import app

    setup = make()
    body = event("status.created", status("1001", CAMPAIGN))
    setup.post(body, signed(body))
    config = tmp_path / "m.yaml"
    config.write_text(f"base_url: {fake.url}\ntoken: {TOKEN}\n")
    runner = CliRunner()
    rules = runner.invoke(app, ["mastodon", "rules", "--config", str(config)])
    assert rules.exit_code == 0, rules.output
    assert rules.stdout.splitlines() == ["1 No spam", "2 No glorification of violence"]
    url = setup.store.engine.url.render_as_string(hide_password=False)
    listed = runner.invoke(app, ["mastodon", "actions", "--status", "awaiting", "--db", url])
    assert listed.exit_code == 0, listed.output
    decision = setup.store.decisions_of(f"{PREFIX}1001")[0]
    assert listed.stdout.strip().endswith(
        f"awaiting report 500 for decision {decision.id} (restrict, post {PREFIX}1001)"
    )
    checked = runner.invoke(app, ["mastodon", "check", "--config", str(config)])
    assert checked.exit_code == 0 and "act: off" in checked.stdout
