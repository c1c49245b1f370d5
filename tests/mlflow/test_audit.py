"""The audit log records what MLflow's client changes, under each route's path template, and
not what it only reads (searches sent as POSTs included), as for Shipyard's own routes."""

from __future__ import annotations

import httpx

from shipyard.client import LocalStore
from tests.support.server import LiveServer

API = "/api/2.0/mlflow"


def test_mlflow_reads_are_not_audited_and_writes_are(
    live_server: LiveServer, served_with_auth: LocalStore
) -> None:
    store = served_with_auth
    store.create_user("ann")
    store.set_role("ann", "default", "editor")
    token = store.create_token("ann").token
    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        exp = http.post(f"{API}/experiments/create", json={"name": "audited"}).json()
        exp_id = exp["experiment_id"]
        run = http.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()
        run_id = run["run"]["info"]["run_id"]
        logged = http.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": "auc", "value": 0.8, "timestamp": 1, "step": 0},
        )
        assert logged.status_code == 200
        reads = [
            http.post(f"{API}/runs/search", json={"experiment_ids": [exp_id]}),
            http.post(f"{API}/experiments/search", json={"max_results": 10}),
            http.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id]}),
            http.get(f"{API}/runs/get", params={"run_id": run_id}),
            http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "auc"}),
            http.get(f"{API}/registered-models/search"),
            http.get(
                "/api/2.0/mlflow-artifacts/artifacts",
                params={"path": f"{exp_id}/{run_id}/artifacts"},
            ),
        ]
        assert [r.status_code for r in reads] == [200] * len(reads)
    live_server.app.state.backend.audit.flush()

    entries = [(e.user, e.method, e.route, e.status) for e in store.list_audit(limit=50)]
    assert entries == [
        ("ann", "POST", f"{API}/runs/log-metric", 200),
        ("ann", "POST", f"{API}/runs/create", 200),
        ("ann", "POST", f"{API}/experiments/create", 200),
    ]
