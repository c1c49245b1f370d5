"""The Terraform module of the team stack on AWS (package data), and the settings its outputs
give Shipyard.

``write_terraform(folder)`` copies the module (``versions.tf``, ``variables.tf``,
``main.tf``, ``outputs.tf``); after ``terraform apply``, ``settings_from_outputs`` turns
``terraform output -json`` plus the database password (kept in Secrets Manager by RDS, never
in the Terraform state) into the ``SHIPYARD_*`` variables of the server.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipyard.errors import InvalidArgument

MODULE_FILES = ("versions.tf", "variables.tf", "main.tf", "outputs.tf")
_NEEDED = ("artifacts_uri", "db_host", "db_port", "db_name", "db_username", "online_store")


def write_terraform(folder: str | Path) -> Path:
    """Copy the AWS module into ``folder``. Returns the folder."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    source = files("shipyard.deploy").joinpath("templates/terraform/aws")
    for name in MODULE_FILES:
        (target / name).write_text(source.joinpath(name).read_text())
    return target


def settings_from_outputs(outputs: dict[str, Any], db_password: str) -> dict[str, str]:
    """The server's ``SHIPYARD_*`` settings from the module's outputs.

    ``outputs`` is ``terraform output -json`` (``{"name": {"value": ...}}``) or a plain
    ``{"name": value}``; ``db_password`` is the secret named by ``db_password_secret_arn``.
    """
    values = {
        k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in outputs.items()
    }
    missing = [name for name in _NEEDED if values.get(name) in (None, "")]
    if missing:
        raise InvalidArgument(
            f"terraform outputs lack {', '.join(missing)}; pass `terraform output -json` of "
            "the shipyard module",
            field=missing[0],
        )
    if not isinstance(db_password, str) or not db_password:
        raise InvalidArgument("db_password must be the database password", field="db_password")
    port = values["db_port"]
    if isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"db_port must be a port, got {port!r}", field="db_port")
    user = quote(str(values["db_username"]), safe="")
    password = quote(db_password, safe="")
    db_url = (
        f"postgresql+psycopg://{user}:{password}@{values['db_host']}:{int(port)}/"
        f"{values['db_name']}?sslmode=require"
    )
    return {
        "SHIPYARD_DB_URL": db_url,
        "SHIPYARD_ARTIFACTS_URI": str(values["artifacts_uri"]),
        "SHIPYARD_ONLINE_STORE": str(values["online_store"]),
    }
