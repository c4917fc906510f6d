"""The console end to end in Debian's Chromium: uvicorn serving the real app over a store that
holds the example posts and media (SQLite and PostgreSQL), moderators working with the keyboard.

Each test saves screenshots to test-artifacts/console-<page>.png.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert

from arbiter.outbound.delivery import DeliveryWorker
from arbiter.outbound.webhooks import add_endpoint, failing_deliveries
from arbiter.store.schema import platform_actions
from tests import browser
from tests.console.conftest import Console, browser_sign_in, screenshot
from tests.outbound.helpers import Receiver

SELECTED = re.compile(r"\bselected\b")


def audit_entries(console: Console) -> list[dict[str, Any]]:
    sink = io.BytesIO()
    console.store.export_audit(sink)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def persian_reviews(console: Console, reason: str = "sample") -> list[tuple[int, str]]:
    """(review id, post id) of Persian posts queued for `reason`: a sampled restriction, or
    a `review` rule's decision."""
    found = []
    for item in console.store.review_queue(10_000):
        post = console.store.post(item.decision.decision.post_id)
        if item.reason == reason and post.lang == "fa":
            found.append((item.review_id, post.id))
    assert len(found) >= 2
    return found


def test_a_moderator_overturns_a_highlighted_persian_post_with_the_keyboard(
    served: Console, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    # The platform listens for webhooks: the reversal must reach it, signed.
    receiver = Receiver("platform-webhook-secret-1")
    receiver.__enter__()
    add_endpoint(
        console.store, receiver.url, events=["reversal"], secret="platform-webhook-secret-1"
    )
    review_id, post_id = persian_reviews(console)[0]
    post = console.store.post(post_id)
    decision = console.store.decisions_of(post_id)[-1]
    assert decision.decision.action == "restrict" and decision.status == "in_force"
    assert console.store.post_state(post_id) == "restricted"

    browser_sign_in(page, console, "alice")
    page.wait_for_url("**/console/queue")
    open_reviews = len(console.store.review_queue(10_000))
    expect(page.locator("table.queue tbody tr")).to_have_count(min(200, open_reviews))
    screenshot(page, "queue", full_page=False)

    # j / k select rows in the list
    page.keyboard.press("j")
    page.keyboard.press("j")
    rows = page.locator("table.queue tbody tr")
    expect(rows.nth(1)).to_have_class(SELECTED)
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(SELECTED)
    expect(rows.nth(1)).not_to_have_class(SELECTED)

    page.goto(console.url(f"/reviews/{review_id}"))
    text = page.locator("#post-text")
    assert text.get_attribute("dir") == "auto"
    assert page.locator("html").get_attribute("lang") == "en"
    assert text.evaluate("e => getComputedStyle(e).direction") == "rtl"
    [match] = [m for m in decision.decision.matches if m.signal in ("text", "hashtag")]
    mark = text.locator("mark")
    expect(mark).to_have_count(1)
    start, end = match.span
    assert mark.text_content() == post.text[start:end] == match.matched
    assert text.text_content() == post.text  # nothing added to or lost from the author's text
    page.keyboard.press("?")
    expect(page.locator("dialog#help")).to_be_visible()
    screenshot(page, "help", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("dialog#help")).to_be_hidden()
    screenshot(page, "post")

    page.keyboard.press("o")
    focused = page.evaluate(
        "() => [document.activeElement.name, document.activeElement.form.dataset.key]"
    )
    assert focused == ["reason", "o"]
    reason = "Reporting on the funeral, not praise"
    page.keyboard.type(reason)
    page.keyboard.press("Enter")
    page.wait_for_url("**done=overturned**")
    expect(page.locator(".notice")).to_contain_text(f"Review {review_id} overturned")

    old = console.store.decision(decision.id)
    new = console.store.decisions_of(post_id)[-1]
    assert old.status == "reversed"
    assert (new.decision.action, new.actor, new.reason, new.supersedes) == (
        "allow",
        "moderator:alice",
        reason,
        decision.id,
    )
    assert console.store.post_state(post_id) == "visible"
    assert review_id not in {i.review_id for i in console.store.review_queue(10_000)}
    [entry] = [
        e
        for e in audit_entries(console)
        if e["kind"] == "review" and e["subject"] == f"decision:{decision.puid}"
    ]
    assert entry["actor"] == "moderator:alice"
    assert entry["payload"]["outcome"] == "overturned" and entry["payload"]["note"] == reason

    # The post's page now tells the whole story from the audit log.
    page.goto(console.url(f"/decisions/{new.id}"))
    history = page.locator(".timeline")
    expect(history).to_contain_text("moderator:alice")
    expect(history).to_contain_text(reason)
    expect(page.locator(".state")).to_contain_text("visible")

    # …and the platform's receiver gets the signed reversal.
    try:
        DeliveryWorker(console.store).run_once()
        [delivered] = receiver.received
    finally:
        receiver.__exit__()
    assert delivered.verified and delivered.headers["Arbiter-Event"] == "reversal"
    assert delivered.payload["decision"]["supersedes"] == decision.id


def test_the_moderator_who_decided_may_not_decide_the_appeal(
    served: Console, chromium: Browser, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    review_id, post_id = persian_reviews(console, "rule")[0]
    browser_sign_in(page, console, "alice")
    page.goto(console.url(f"/reviews/{review_id}"))
    page.keyboard.press("c")  # a `review` rule's decision: the action is to be chosen first
    assert page.evaluate("document.activeElement.name") == "action"
    page.select_option("form[data-key=c] select[name=action]", "remove")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("Praise of the designated person")
    page.keyboard.press("Enter")
    page.wait_for_url("**done=changed**")
    decision = console.store.decisions_of(post_id)[-1]
    assert decision.status == "in_force" and decision.decision.action == "remove"
    assert decision.actor == "moderator:alice"

    author = console.store.post(post_id).author.id
    appeal_id = console.store.file_appeal(decision.id, author, "این یک گزارش خبری بود")
    page.goto(console.url("/queue"))
    first = page.locator("table.queue tbody tr").first
    expect(first).to_contain_text("appeal")  # appeals lead the queue
    screenshot(page, "queue-with-appeal", full_page=False)
    page.goto(console.url("/appeals"))
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    screenshot(page, "appeals")

    page.goto(console.url(f"/appeals/{appeal_id}"))
    page.keyboard.press("o")
    page.keyboard.type("I think it was news after all")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 409
    refusal = page.locator("[role=alert]#refusal")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("moderator alice took part in decision")
    expect(refusal).to_contain_text("another person to decide the appeal")
    # the reason typed is kept, for whoever may decide
    assert page.locator("form[data-key=o] input[name=reason]").input_value() == (
        "I think it was news after all"
    )
    screenshot(page, "appeal-refused")
    assert console.store.appeals("open")[0]["id"] == appeal_id

    with browser.new_page(chromium, width=1440, height=1000) as other:
        browser_sign_in(other, console, "bob")
        other.goto(console.url(f"/appeals/{appeal_id}"))
        other.keyboard.press("c")
        other.keyboard.type("It praises the person; the removal stands")
        other.keyboard.press("Enter")
        other.wait_for_url("**/console/appeals?done=upheld**")
        expect(other.locator(".notice")).to_contain_text(f"Appeal {appeal_id} decided")
        screenshot(other, "appeals-decided")
    [decided] = console.store.appeals("decided")
    assert (decided["moderator"], decided["outcome"]) == ("bob", "upheld")


def test_sign_in_is_refused_for_an_ingest_key_and_a_revoked_key(
    served: Console, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    page.goto(console.url("/queue"))
    page.wait_for_url("**/console/sign-in?next=/console/queue")
    screenshot(page, "sign-in")

    browser_sign_in(page, console, "ingest")
    expect(page.locator("[role=alert]")).to_contain_text("An ingest key cannot open the console")
    assert "/console/sign-in" in page.url
    screenshot(page, "sign-in-refused")

    browser_sign_in(page, console, "revoked")
    expect(page.locator("[role=alert]")).to_contain_text("not valid")
    assert not [c for c in page.context.cookies() if c["name"] == "arbiter_console"]

    browser_sign_in(page, console, "auditor")
    page.wait_for_url("**/console/queue")
    expect(page.locator(".readonly")).to_have_text("read-only")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "arbiter_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain http on loopback; https makes it Secure


def test_a_form_post_without_the_csrf_token_is_refused(
    served: Console, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    review_id, _ = persian_reviews(console)[0]
    browser_sign_in(page, console, "alice")
    page.wait_for_url("**/console/queue")
    url = console.url(f"/reviews/{review_id}/overturn")
    refused = page.request.post(url, form={"reason": "no token"}, max_redirects=0)
    assert refused.status == 403
    assert "security token" in refused.text()
    wrong = page.request.post(url, form={"reason": "bad token", "csrf": "0" * 64}, max_redirects=0)
    assert wrong.status == 403
    assert review_id in {i.review_id for i in console.store.review_queue(10_000)}
    page.set_content(refused.text())
    screenshot(page, "csrf-refused")


def test_a_media_post_shows_the_bank_image_beside_the_posted_one(
    served: Console, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    browser_sign_in(page, console, "alice")
    page.goto(console.url(f"/reviews/{console.review_of('m1')}"))
    posted = page.locator("img[data-role=posted]")
    reference = page.locator("img[data-role=reference]")
    for image in (posted, reference):
        expect(image).to_be_visible()
        assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    left, right = posted.bounding_box(), reference.bounding_box()
    assert left is not None and right is not None
    assert right["x"] >= left["x"] + left["width"] and abs(right["y"] - left["y"]) < 40
    [match] = console.store.decisions_of("m1")[-1].decision.matches
    assert match.media is not None and match.media.distance is not None
    expect(page.locator(".distance strong")).to_have_text(str(match.media.distance))
    facts = page.locator("figure.reference .facts")
    expect(facts).to_contain_text(match.media.variant)
    expect(facts).to_contain_text(match.media.region)
    screenshot(page, "post-media")

    # OCR: the text read from the poster, its box drawn over the image
    page.goto(console.url(f"/reviews/{console.review_of('m3')}"))
    expect(page.locator(".ocr-text mark")).to_have_text("قاسم سلیمانی")
    box = page.locator("svg.boxes rect.ocr-box").bounding_box()
    image = page.locator("img[data-role=posted]").bounding_box()
    assert box is not None and image is not None
    assert (
        image["y"] + image["height"] * 0.7
        < box["y"] + box["height"] / 2
        < image["y"] + (image["height"])
    )
    screenshot(page, "post-ocr")

    # a video matched against the banked video
    page.goto(console.url(f"/reviews/{console.review_of('m5')}"))
    expect(page.locator("video[data-role=posted]")).to_have_count(1)
    expect(page.locator("video[data-role=reference]")).to_have_count(1)
    expect(page.locator("figure.reference .facts")).to_contain_text("frames matching")
    screenshot(page, "post-video")

    # a wire photo cancelled by the benign bank: both shown, the match struck through
    page.goto(console.url(f"/decisions/{console.decision_of('m6')}"))
    expect(page.locator(".benign-note")).to_contain_text("benign bank")
    assert page.locator("img[data-role=benign]").evaluate("i => i.naturalWidth > 0")


def test_the_operations_page_shows_failing_webhooks_and_platform_actions(
    served: Console, chromium_page: Page
) -> None:
    console, page = served, chromium_page
    store = console.store
    add_endpoint(store, "http://127.0.0.1:9/arbiter-hook", actor="test")
    review_id, post_id = persian_reviews(console)[0]
    store.decide_review(review_id, "carol", "allow", "news report")
    with DeliveryWorker(store, timeout=2, max_attempts=1) as worker:
        worker.run_once()
    [failing] = failing_deliveries(store)
    decision = store.decisions_of("m1")[-1]
    with store.engine.begin() as connection:
        connection.execute(
            insert(platform_actions).values(
                decision_id=decision.id,
                platform="mastodon",
                kind="report",
                remote_id="500",
                status="awaiting",
                detail=json.dumps({"status_id": "1001", "category": "other"}),
                created_at="2026-11-25T10:05:00Z",
                updated_at="2026-11-25T10:05:00Z",
            )
        )
    browser_sign_in(page, console, "admin")
    page.goto(console.url("/operations"))
    webhooks = page.locator("#webhooks-title + table")
    expect(webhooks).to_contain_text("http://127.0.0.1:9/arbiter-hook")
    expect(webhooks).to_contain_text("given up")
    assert failing.last_error
    expect(webhooks).to_contain_text(failing.last_error[:30])
    mastodon = page.locator("#mastodon-title + table")
    expect(mastodon).to_contain_text("report")
    expect(mastodon).to_contain_text("500")
    expect(page.locator("nav a[href$='/operations'] .count")).to_have_text("2")
    screenshot(page, "operations")
    assert post_id
