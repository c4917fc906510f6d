"""`arbiter webhooks …` and `arbiter mastodon …`: telling other systems what was decided."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from arbiter.cli.common import DbOption, err, open_store, out
from arbiter.cli.main import app
from arbiter.outbound.webhooks import (
    EVENTS,
    WebhookError,
    add_endpoint,
    delivery_counts,
    endpoints,
    failing_deliveries,
    remove_endpoint,
    retry_delivery,
)

webhooks_app = typer.Typer(
    help="Signed webhooks: who is told about decisions, and whether they were.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except WebhookError as error:
        err.print(f"[red]refused[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events (http:// or https://).")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help=f"An event to send ({', '.join(EVENTS)}); default all."),
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret; default a new random one.")
    ] = None,
    by: Annotated[str, typer.Option(help="Who adds it (recorded in the audit log).")] = "cli",
    db: DbOption = None,
) -> None:
    """Register an endpoint; prints its signing secret, which is shown only this once."""
    with open_store(db) as store, _refusals():
        added = add_endpoint(store, url, event or EVENTS, secret, actor=by)
    out.print(
        f"webhook {added.id}: {added.url} ({', '.join(added.events)})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"secret {added.secret}", highlight=False, soft_wrap=True)


@webhooks_app.command("list")
def list_endpoints(
    all_: Annotated[bool, typer.Option("--all", help="Include removed endpoints.")] = False,
    db: DbOption = None,
) -> None:
    """Endpoints with their deliveries by status."""
    with open_store(db) as store:
        found = endpoints(store, include_inactive=all_)
        counts = delivery_counts(store)
    table = Table("id", "url", "events", "active", "pending", "retrying", "delivered", "dead")
    for e in found:
        c = counts.get(e.id, {})
        table.add_row(
            str(e.id),
            e.url,
            ", ".join(e.events),
            "yes" if e.active else "no",
            f"{c.get('pending', 0):,}",
            f"{c.get('retrying', 0):,}",
            f"{c.get('delivered', 0):,}",
            f"{c.get('dead', 0):,}",
        )
    out.print(table)


@webhooks_app.command("remove")
def remove(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    by: Annotated[str, typer.Option(help="Who removes it (recorded in the audit log).")] = "cli",
    db: DbOption = None,
) -> None:
    """Stop sending to an endpoint; deliveries still pending to it are given up."""
    with open_store(db) as store, _refusals():
        removed = remove_endpoint(store, endpoint_id, actor=by)
    out.print(f"webhook {removed.id} removed: {removed.url}", highlight=False, soft_wrap=True)


@webhooks_app.command("failing")
def failing(
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """Deliveries given up (dead) or waiting to retry after an error, one line each."""
    with open_store(db) as store:
        found = failing_deliveries(store, limit)
    for d in found:
        about = f"decision {d.decision_id}" + (f", post {d.post_id}" if d.post_id else "")
        state = "dead" if d.status == "dead" else f"retrying at {d.next_attempt_at}"
        out.print(
            f"{state} delivery {d.id} to {d.url} ({d.event}, {about}): {d.attempts} attempt(s); "
            f"last error: {d.last_error}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if not found:
        out.print("no failing deliveries", highlight=False)


@webhooks_app.command("retry")
def retry(
    delivery: Annotated[int, typer.Argument(help="The delivery's id (from `failing`).")],
    db: DbOption = None,
) -> None:
    """Send a dead delivery again, now, with a fresh count of attempts."""
    with open_store(db) as store, _refusals():
        retry_delivery(store, delivery)
    out.print(f"delivery {delivery} pending again", highlight=False)


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds to rest when nothing is due.")] = 1.0,
    timeout: Annotated[float, typer.Option(help="HTTP timeout per request, seconds.")] = 10.0,
    max_attempts: Annotated[int, typer.Option(help="Attempts before a delivery is dead.")] = 12,
    batch: Annotated[int, typer.Option(help="Rows claimed at a time.")] = 10,
    lease: Annotated[
        float | None,
        typer.Option(help="Seconds a claimed row is held before another worker may retry it."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the delivery worker (any number may run at once); Ctrl-C or SIGTERM stops it."""
    from arbiter.outbound.delivery import DeliveryWorker, Outcome

    stop = threading.Event()

    def report(outcome: Outcome) -> None:
        line = (
            f"{outcome.status} delivery {outcome.id} ({outcome.event}) to {outcome.url}, "
            f"attempt {outcome.attempts}"
        )
        if outcome.error:
            line += f": {outcome.error}"
        if outcome.next_attempt_at:
            line += f"; next at {outcome.next_attempt_at}"
        (out if outcome.status == "delivered" else err).print(line, highlight=False, markup=False)

    def stopping(*_: Any) -> None:
        stop.set()

    previous = {
        signum: signal.signal(signum, stopping) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with (
            open_store(db) as store,
            DeliveryWorker(
                store, timeout=timeout, max_attempts=max_attempts, batch=batch, lease=lease
            ) as worker,
        ):
            if once:
                while not stop.is_set():
                    outcomes = worker.run_once(stop)
                    for outcome in outcomes:
                        report(outcome)
                    if not outcomes:
                        break
            else:
                worker.run(stop, interval, report)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


mastodon_app = typer.Typer(
    help="The Mastodon adapter: its configuration, the instance's rules, what was asked of it.",
    no_args_is_help=True,
)
app.add_typer(mastodon_app, name="mastodon")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The adapter's YAML settings (default $ARBITER_MASTODON_CONFIG; secrets may come "
        "from ARBITER_MASTODON_TOKEN and the like).",
    ),
]


def _mastodon_config(path: Path | None) -> Any:
    from arbiter.adapters.mastodon import MastodonConfig, MastodonConfigError

    try:
        config = MastodonConfig.load(path)
    except (MastodonConfigError, OSError) as error:
        err.print(f"[red]error[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if config is None:
        err.print(
            "[red]error[/red] Mastodon is not configured: give --config or set "
            "ARBITER_MASTODON_CONFIG or ARBITER_MASTODON_URL",
            highlight=False,
        )
        raise typer.Exit(2)
    return config


@mastodon_app.command("check")
def check(config: ConfigOption = None) -> None:
    """Validate the adapter's settings and say what each decision would do on the instance."""
    settings = _mastodon_config(config)
    out.print(f"instance {settings.base_url} ({settings.instance_domain})", highlight=False)
    out.print(f"act: {'on' if settings.act else 'off'}", highlight=False)
    for action in ("remove", "restrict", "label", "suspend"):
        out.print(f"  {action} -> {settings.measure(action)}", highlight=False)
    for key, ids in sorted(settings.rule_ids.items()):
        out.print(f"  rules cited for {key}: {', '.join(map(str, ids))}", highlight=False)
    missing = [
        name
        for name, value in (
            ("token", settings.token),
            ("webhook_secret", settings.webhook_secret),
            ("events_secret", settings.events_secret),
        )
        if not value
    ]
    if missing:
        out.print(f"not set: {', '.join(missing)}", highlight=False)


@mastodon_app.command("rules")
def rules(config: ConfigOption = None) -> None:
    """The instance's rules, by id: what `rule_ids` in the settings may cite."""
    from arbiter.adapters.mastodon_api import MastodonClient, MastodonError

    settings = _mastodon_config(config)
    client = MastodonClient(settings.base_url, settings.token)
    try:
        found = client.instance_rules()
    except MastodonError as error:
        err.print(f"[red]error[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    for rule in found:
        out.print(f"{rule.get('id')} {rule.get('text', '')}", highlight=False, markup=False)


@mastodon_app.command("actions")
def actions(
    status: Annotated[
        str | None, typer.Option(help="Only awaiting, done, failed or withdrawn ones.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """What the adapter asked of the instance, and whether it was done; one line each."""
    from arbiter.adapters.mastodon import platform_actions_of

    with open_store(db) as store:
        found = platform_actions_of(store, status, limit)
    for a in found:
        line = (
            f"{a['updated_at']} {a['status']} {a['kind']} {a['remote_id'] or '-'} for decision "
            f"{a['decision_id']} ({a['action']}, post {a['post_id']})"
        )
        if a["detail"].get("error"):
            line += f": {a['detail']['error']}"
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if not found:
        out.print("no actions", highlight=False)
