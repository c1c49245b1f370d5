"""Secrets never reach a log: API tokens and the database password stay out of the server's
log (at debug level, with the access log on), out of the audit log, and out of the errors a
bad database URL produces."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from shipyard.client import LocalStore
from shipyard.config import load_settings, redact_url
from shipyard.errors import ConfigError, ServiceUnavailable
from tests.support.server import server_process

ID_END = len("shy_") + 12  # a token is shy_<12-hex id>_<secret>; the id is public


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_database_password_in_the_server_log_or_the_audit_log(
    postgres_db_url: str, tmp_path: Path
) -> None:
    password = make_url(postgres_db_url).password
    assert password
    store = LocalStore(load_settings(home=tmp_path / ".shipyard", db_url=postgres_db_url))
    store.create_user("ops")
    store.set_role("ops", "*", "admin")
    admin = store.create_token("ops", "bootstrap").token
    env = {"SHIPYARD_DB_URL": postgres_db_url}
    args = ("--auth", "--access-log", "--log-level", "debug")
    with (
        server_process(tmp_path, *args, env=env) as url,
        httpx.Client(base_url=f"{url}/api/v1", timeout=30) as http,
    ):
        assert http.post("/users", json={"name": "ann"}, headers=_bearer(admin)).is_success
        grant = http.put(
            "/users/ann/roles/default", json={"role": "editor"}, headers=_bearer(admin)
        )
        assert grant.is_success
        tokens = [
            http.post("/tokens", json={"user": "ann", "name": n}, headers=_bearer(admin)).json()
            for n in ("laptop", "spare")
        ]
        ann, spare = tokens[0]["token"], tokens[1]["token"]
        revoked = http.delete(f"/tokens/{tokens[1]['info']['id']}", headers=_bearer(admin))
        assert revoked.is_success
        created = http.post("/experiments", json={"name": "churn"}, headers=_bearer(ann))
        assert created.is_success and http.get("/experiments", headers=_bearer(ann)).is_success
        forged = ann[: ID_END + 1] + ("A" if ann[-1] != "A" else "B") * (len(ann) - ID_END - 1)
        refused = {
            "forged": _bearer(forged),
            "revoked": _bearer(spare),
            "garbled": _bearer(ann[::-1]),
            "wrong scheme": {"Authorization": f"Basic {ann}"},
            "no scheme": {"Authorization": ann},
        }
        for what, headers in refused.items():
            answer = http.post("/experiments", json={"name": "x"}, headers=headers)
            assert answer.status_code == 401, (what, answer.text)
            assert ann[ID_END:] not in answer.text and spare[ID_END:] not in answer.text
        audit = http.get("/audit", params={"limit": 10_000}, headers=_bearer(admin)).json()
    log = (tmp_path / "server.log").read_text()
    stored_audit = [entry.to_dict() for entry in store.list_audit(limit=10_000)]

    # The logs are not empty: the access log, the 401s and the redacted database URL are there.
    assert "/api/v1/experiments" in log and " 401" in log, log[-2000:]
    assert f"{make_url(postgres_db_url).host}" in log and "***" in log, log[:2000]
    statuses = [entry["status"] for entry in stored_audit]
    assert statuses.count(401) == len(refused) and len(audit["entries"]) == len(stored_audit)
    for secret in (admin, ann, spare, forged, password):
        for text in (secret, secret[ID_END + 1 :] if secret.startswith("shy_") else secret):
            assert text not in log, "a secret is in the server log"
            assert text not in json.dumps(audit), "a secret is in the audit log (API)"
            assert text not in json.dumps(stored_audit), "a secret is in the audit log"


def test_database_errors_never_show_the_password(postgres_url: str, tmp_path: Path) -> None:
    password = "pw-that-must-not-show"
    wrong = make_url(postgres_url).set(password=password).render_as_string(hide_password=False)
    with pytest.raises(ServiceUnavailable) as unreachable:
        LocalStore(load_settings(home=tmp_path / "a", db_url=wrong)).list_experiments()
    assert password not in str(unreachable.value) and "***" in str(unreachable.value)
    malformed = f"post gres://shipyard:{password}@127.0.0.1/db"
    with pytest.raises(ConfigError) as invalid:
        LocalStore(load_settings(home=tmp_path / "b", db_url=malformed)).list_experiments()
    assert password not in str(invalid.value) and invalid.value.field == "db_url"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:s3cret@db:5432/x", "postgresql+psycopg://u:***@db:5432/x"),
        ("postgresql://u:s3cr@t/pw@db/x", "postgresql://u:***@db/x"),  # unescaped @ and /
        ("post gres://u:s3cret@db/x", "post gres://u:***@db/x"),  # no parser accepts it
        (
            "postgresql://u@db/x?sslmode=require&password=s3cret",
            "postgresql://u@db/x?sslmode=require&password=***",
        ),
        ("postgresql://u@db:5432/x", "postgresql://u@db:5432/x"),
        ("sqlite:////home/ann/.shipyard/shipyard.db", "sqlite:////home/ann/.shipyard/shipyard.db"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
