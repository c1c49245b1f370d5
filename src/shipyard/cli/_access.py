"""`shipyard users ...`, `shipyard tokens ...` and `shipyard audit`: who may use a server.

Against a server (``SHIPYARD_TRACKING_URI``) these need the matching role; embedded, on the
server's own database, they need nothing, which is how the first admin is created.
"""

from __future__ import annotations

import re

import typer

from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    console,
    fmt_time,
    friendly_errors,
    print_listing,
    safe,
)
from shipyard.cli._store import existing_client, get_client
from shipyard.entities import DEFAULT_PROJECT, ROLES
from shipyard.errors import InvalidArgument

users = typer.Typer(help="Create users and give them roles on projects.", no_args_is_help=True)
tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

ProjectOpt = typer.Option(
    DEFAULT_PROJECT, "--project", "-p", help="Project the role applies to ('*': every project)."
)
_ROLE_HELP = f"One of {', '.join(ROLES)}."
_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNIT_MS = {
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "": 86_400_000,
}


def _roles(roles: dict[str, str]) -> str:
    return ", ".join(f"{safe(project)}: {role}" for project, role in sorted(roles.items())) or "-"


@users.command("create")
def create_user(
    name: str,
    role: str | None = typer.Option(None, "--role", "-r", help=_ROLE_HELP),
    project: str = ProjectOpt,
) -> None:
    """Create a user, optionally with a role on a project."""
    with friendly_errors():
        store = get_client().store
        store.create_user(name)
        if role is not None:
            store.set_role(name, project, role)
    granted = f" ({role} on {safe(project)})" if role else ""
    console.print(f"created user [bold]{safe(name)}[/]{granted}")


@users.command("list")
def list_users(fmt: OutputFormat = FormatOpt) -> None:
    """List users and their roles."""
    with friendly_errors():
        found = existing_client().store.list_users()
    listing = Listing("Users", ("name", "created", "roles"))
    for user in found:
        listing.add([user.name, fmt_time(user.created_at), _roles(user.roles)])
    print_listing(listing, fmt)


@users.command("grant")
def grant(
    name: str, role: str = typer.Argument(..., help=_ROLE_HELP), project: str = ProjectOpt
) -> None:
    """Give a user a role on a project (replacing the role they had there)."""
    with friendly_errors():
        existing_client().store.set_role(name, project, role)
    console.print(f"[bold]{safe(name)}[/] is now {role} on {safe(project)}")


@users.command("revoke")
def revoke_role(name: str, project: str = ProjectOpt) -> None:
    """Take away a user's role on a project."""
    with friendly_errors():
        existing_client().store.set_role(name, project, None)
    console.print(f"[bold]{safe(name)}[/] has no role on {safe(project)} any more")


def parse_duration(text: str) -> int:
    """Milliseconds in '90d', '12h', '30m', '45s', '2w' (a bare number is days)."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidArgument(
            f"--expires-in {text!r} is not a duration; use e.g. 90d, 12h, 30m or 2w",
            field="expires_in",
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@tokens.command("create")
def create_token(
    user: str | None = typer.Option(None, "--user", "-u", help="Whose token (default: you)."),
    name: str = typer.Option("", "--name", "-n", help="What the token is for."),
    expires_in: str | None = typer.Option(
        None, "--expires-in", help="Lifetime, e.g. 90d, 12h (default: no expiry)."
    ),
    save: bool = typer.Option(
        False, "--save", help="Also store it in the credentials file (mode 0600)."
    ),
) -> None:
    """Create an API token. It is printed once and never stored in clear."""
    from shipyard.client import now_ms

    with friendly_errors():
        client = get_client()
        expires_at = None if expires_in is None else now_ms() + parse_duration(expires_in)
        new = client.store.create_token(user, name, expires_at)
        saved = None
        if save:
            from shipyard.client import save_token

            saved = save_token(client.settings, new.token)
    console.print(
        f"created token [bold]{new.info.id}[/] for {safe(new.info.user)}", highlight=False
    )
    console.print(new.token, soft_wrap=True, highlight=False, markup=False)
    if saved is not None:
        console.print(f"saved to {safe(str(saved))}")
    else:
        console.print(
            "[yellow]this is the only time it is shown:[/] keep it in SHIPYARD_TOKEN or "
            "~/.shipyard/credentials (mode 0600)"
        )


@tokens.command("list")
def list_tokens(
    user: str | None = typer.Option(None, "--user", "-u", help="Whose tokens (admins only)."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List API tokens (never the secrets)."""
    from shipyard.client import now_ms

    with friendly_errors():
        found = existing_client().store.list_tokens(user)
    now = now_ms()
    listing = Listing("API tokens", ("id", "user", "name", "created", "expires", "state"))
    for token in found:
        state = "active"
        if token.revoked_at is not None:
            state = "revoked"
        elif token.expires_at is not None and token.expires_at <= now:
            state = "expired"
        expires = fmt_time(token.expires_at) if token.expires_at is not None else "never"
        listing.add([token.id, token.user, token.name, fmt_time(token.created_at), expires, state])
    print_listing(listing, fmt)


@tokens.command("revoke")
def revoke_token(token_id: str) -> None:
    """Revoke an API token (by the id `shipyard tokens list` shows)."""
    with friendly_errors():
        existing_client().store.revoke_token(token_id)
    console.print(f"revoked token [bold]{safe(token_id)}[/]")


def audit(
    limit: int = typer.Option(50, "--limit", "-n", help="How many entries."),
    user: str | None = typer.Option(None, "--user", "-u", help="Only this user's requests."),
    project: list[str] = typer.Option([], "--project", "-p", help="Only these projects."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Show the server's audit log of writes, newest first (admins)."""
    with friendly_errors():
        entries = existing_client().store.list_audit(limit, None, user, project or None)
    columns = ("id", "when", "user", "request", "status", "project", "client")
    listing = Listing("Audit log", columns)
    for entry in entries:
        listing.add(
            [entry.id, fmt_time(entry.at), entry.user, f"{entry.method} {entry.path}",
             entry.status, entry.project, entry.client],
            [str(entry.id), fmt_time(entry.at), safe(entry.user),
             safe(f"{entry.method} {entry.path}"), str(entry.status), safe(entry.project or "-"),
             safe(entry.client)],
        )  # fmt: skip
    print_listing(listing, fmt)
