"""`arbiter serve`, `arbiter keys create|list|revoke`, `arbiter openapi`: Arbiter as a service."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from arbiter.cli.common import DbOption, err, open_store, out
from arbiter.cli.main import _policy_or_exit, app
from arbiter.service import keys
from arbiter.store import StoreError
from arbiter.store.database import reading
from arbiter.store.schema import activations

keys_app = typer.Typer(help="API keys for the HTTP API (arbiter serve).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command("serve")
def serve(
    db: DbOption = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            help="Policy YAML to make live (default: the store's live policy, or the first "
            "one uploaded with PUT /v1/policies).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    rate_limit: Annotated[
        float, typer.Option(help="Requests per second per key and worker; 0 means no limit.")
    ] = 100.0,
    burst: Annotated[
        float | None, typer.Option(help="Requests a key may make at once (default 2x the rate).")
    ] = None,
    max_body: Annotated[int, typer.Option(help="Largest request body, bytes.")] = 1_000_000,
    max_batch_body: Annotated[
        int, typer.Option(help="Largest body of POST /v1/posts:batch, bytes.")
    ] = 16_000_000,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Run the HTTP API (uvicorn). Keys: `arbiter keys create --owner NAME --role ROLE`."""
    import uvicorn

    from arbiter.service.app import CONFIG_VARIABLE

    live: tuple[str, int] | None = None
    with open_store(db) as store:
        if policy is not None:
            engine = _policy_or_exit(policy)
            try:
                store.activate(engine.policy, "live", actor="cli")
            except StoreError as error:
                err.print(f"[red]error[/red] {error}", highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None
            live = (engine.policy.id, engine.policy.version)
        else:
            with reading(store.engine) as connection:
                rows = connection.execute(
                    select(activations.c.policy_id).where(activations.c.mode == "live")
                ).all()
            if len(rows) != 1:
                err.print(
                    "[yellow]note[/yellow] no single live policy in the store: the service is "
                    "not ready until one is uploaded (PUT /v1/policies)",
                    highlight=False,
                )
        url = str(store.engine.url.render_as_string(hide_password=False))
    config = {
        "db": url,
        "policy": live[0] if live else None,
        "version": live[1] if live else None,
        "max_body_bytes": max_body,
        "max_batch_bytes": max_batch_body,
        "rate": rate_limit,
        "burst": burst if burst is not None else max(1.0, 2 * rate_limit),
        "key_cache_seconds": 1.0,
        "policy_refresh_seconds": 1.0,
    }
    os.environ[CONFIG_VARIABLE] = json.dumps(config)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="arbiter-metrics-")
    err.print(f"arbiter serving on http://{host}:{port} ({workers} worker(s))", highlight=False)
    uvicorn.run(
        "arbiter.service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
    )


@keys_app.command("create")
def keys_create(
    owner: Annotated[str, typer.Option(help="Who uses it (recorded as the actor).")],
    role: Annotated[str, typer.Option(help="ingest, moderator, admin or auditor.")],
    db: DbOption = None,
) -> None:
    """Create a key and print it, once: it is stored only as a hash."""
    with open_store(db) as store:
        try:
            created, key = keys.create_key(store.engine, owner, role, actor="cli")
        except keys.KeyRefused as error:
            err.print(f"[red]refused[/red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    err.print(
        f"{created.role} key {created.prefix} for {created.owner}; it is shown this once:",
        highlight=False,
    )
    print(key)


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """Every key: prefix, owner, role, when created, last used and revoked."""
    with open_store(db) as store:
        found = keys.list_keys(store.engine)
    table = Table(title="API keys", title_justify="left")
    for column in ("prefix", "owner", "role", "created", "last used", "revoked"):
        table.add_column(column)
    for key in found:
        table.add_row(
            key.prefix,
            key.owner,
            key.role,
            key.created_at,
            key.last_used_at or "",
            key.revoked_at or "",
            style="dim" if key.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (from `keys list`).")],
    db: DbOption = None,
) -> None:
    """Revoke a key: refused from now on (running services notice within a second)."""
    with open_store(db) as store:
        try:
            revoked = keys.revoke_key(store.engine, prefix, actor="cli")
        except keys.KeyRefused as error:
            err.print(f"[red]refused[/red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    out.print(f"revoked {revoked.role} key {revoked.prefix} of {revoked.owner}", highlight=False)


@app.command("openapi")
def openapi(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it.")] = Path(
        "openapi.json"
    ),
) -> None:
    """Write the HTTP API's OpenAPI document (the repository keeps it as openapi.json)."""
    from arbiter.service.app import write_openapi

    write_openapi(output)
    err.print(f"wrote {output}", highlight=False)
