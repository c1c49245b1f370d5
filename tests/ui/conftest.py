"""Fixtures of the web UI's browser tests: Debian's Chromium driven by Playwright, against
the live test server answering from a store seeded by the demo plus generated runs.

A ``world`` (one per store kind and test worker) is the demo's data (``shipyard demo`` run
once into a temp home: experiments, a pipeline run twice, a registered model promoted through
gates, datasets, features, a monitor with drift and a retraining, deployments) plus an
experiment of generated runs and one run with a long metric history, on SQLite or
PostgreSQL. Each test points the live server at it (with or without authentication) and
opens pages in a fresh browser context; ``UiPage`` collects console errors, waits for a page
to finish loading, takes screenshots into ``build/screenshots/`` (kept by CI) and runs
axe-core.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.entities import MetricPoint
from shipyard.serving import read_predictions
from tests.support.server import LiveServer
from tests.support.services import service_unavailable
from tests.support.warm import WarmPython

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
GENERATED_RUNS = 120
LONG_HISTORY = 5_000


@dataclass
class World:
    """A seeded store and the ids the tests visit."""

    kind: str
    settings: Settings
    experiment: str  # the generated runs' experiment id
    long_run: str  # a run with LONG_HISTORY points of ``loss``
    demo_experiment: str
    champion_run: str
    model: str
    model_version_id: str
    pipeline_run: str
    tokens: dict[str, str] = field(default_factory=dict)
    prediction: str = ""  # the id of a prediction the demo's model server answered

    def store(self) -> LocalStore:
        return LocalStore(self.settings)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's; Playwright downloads none). Package-scoped: while
    Playwright's sync API is open it holds an event loop as this thread's running loop, so it
    is closed when the browser tests end, before tests that run their own loop."""
    if not CHROMIUM.exists():
        service_unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _seed_demo(home: Path, db_url: str, warm_python: WarmPython) -> None:
    """``shipyard demo`` into ``home`` (its database at ``db_url``), as a user runs it
    (``python -m shipyard demo``, in a child of the warm interpreter)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update({"SHIPYARD_HOME": str(home / ".shipyard"), "SHIPYARD_DB_URL": db_url})
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    done = warm_python.run(["-m", "shipyard", "demo"], cwd=home, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _seed_runs(store: LocalStore) -> tuple[str, str]:
    """An experiment of GENERATED_RUNS runs (3 params, 2 metrics each) and a run with a long
    ``loss`` history; their ids."""
    rng = random.Random(7)
    exp = store.create_experiment("generated")
    for i in range(GENERATED_RUNS):
        run = store.create_run(exp.id, f"gen-{i:03d}", start_time=1_700_000_000_000 + i * 1000)
        store.log_batch(
            run.id,
            [
                MetricPoint("auc", round(rng.uniform(0.5, 0.99), 4), 0, 1),
                MetricPoint("loss", round(rng.uniform(0.1, 2.0), 4), 0, 1),
            ],
            {
                "lr": str(rng.choice([0.001, 0.01, 0.1])),
                "depth": str(rng.randint(2, 9)),
                "model": rng.choice(["xgb", "lgbm", "rf"]),
            },
            {},
        )
        store.update_run(run.id, status="FINISHED", end_time=1_700_000_000_000 + i * 1000 + 500)
    long = store.create_run(exp.id, "long-history", start_time=1_700_000_500_000)
    points = [
        MetricPoint("loss", 2.0 / (1 + step / 500) + rng.uniform(0, 0.05), step, step)
        for step in range(LONG_HISTORY)
    ]
    points[LONG_HISTORY // 2] = MetricPoint("loss", 9.0, LONG_HISTORY // 2, LONG_HISTORY // 2)
    store.log_batch(long.id, points, {"lr": "0.01"}, {})
    return exp.id, long.id


def _build_world(kind: str, home: Path, db_url: str, warm_python: WarmPython) -> World:
    _seed_demo(home, db_url, warm_python)
    settings = load_settings(home=home / ".shipyard", db_url=db_url)
    store = LocalStore(settings)
    try:
        experiment, long_run = _seed_runs(store)
        demo = store.get_experiment_by_name("demo")
        model = "demo-model"
        champion = store.get_model_version_by_alias(model, "champion")
        pipeline_run = store.list_pipeline_runs(pipeline="demo-training", limit=1)[0].id
        logged = read_predictions(model, columns=["prediction_id"], settings=settings)
        prediction = str(logged["prediction_id"].iloc[-1])
        tokens = {}
        for role in ("viewer", "maintainer"):
            store.create_user(role)
            store.set_role(role, "default", role)
            tokens[role] = store.create_token(role, "ui tests").token
    finally:
        store.close()
    return World(
        kind, settings, experiment, long_run, demo.id, champion.run_id or "", model,
        champion.id, pipeline_run, tokens, prediction,
    )  # fmt: skip


@pytest.fixture(scope="session")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, warm_python: WarmPython) -> World:
    home = tmp_path_factory.mktemp("ui-sqlite")
    return _build_world("sqlite", home, f"sqlite:///{home / 'ui.db'}", warm_python)


@pytest.fixture(scope="session")
def postgres_world(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, warm_python: WarmPython
) -> World:
    import psycopg
    from sqlalchemy import make_url

    url = make_url(postgres_url)
    name = f"ui_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password,
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'CREATE DATABASE "{name}"')
    home = tmp_path_factory.mktemp("ui-postgres")
    return _build_world(
        "postgres", home, url.set(database=name).render_as_string(False), warm_python
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest) -> World:
    """The seeded store of each kind."""
    found: World = request.getfixturevalue(f"{request.param}_world")
    return found


class UiPage:
    """A browser tab on the live server, collecting console errors."""

    def __init__(self, page: Any, url: str, shots: Path) -> None:
        self.page = page
        self.url = url
        self.shots = shots
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def goto(self, path: str) -> Any:
        """Open ``path`` and wait until it has loaded everything it shows."""
        self.page.goto(self.url + path)
        self.settle()
        return self.page

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function(
            "() => !document.querySelector('[aria-busy=true]')"
            " && !document.querySelector('main > p')?.textContent.startsWith('Loading')"
        )

    def shot(self, name: str) -> Path:
        """A full-page screenshot into build/screenshots/<kind>/<name>.png."""
        path = self.shots / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[str]:
        """axe-core's serious and critical violations on the page, in words."""
        self.page.add_script_tag(url="/static/axe-for-tests.js")
        found = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                .filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => `${v.id}: ${v.help} at ${v.nodes.slice(0, 3)
                    .map(n => n.target.join(' ')).join('; ')}`)"""
        )
        return list(found)


@pytest.fixture
def serve_world(live_server: LiveServer) -> Iterator[Any]:
    """``serve_world(world, auth=False)`` points the live server at a world's store."""

    def serve(world: World, *, auth: bool = False) -> str:
        live_server.serve(world.store(), auth=auth)
        return live_server.url

    yield serve


@pytest.fixture
def open_ui(browser: Any, serve_world: Any) -> Iterator[Any]:
    """``open_ui(world, token=None, auth=False)``: a fresh browser tab (its own storage) on
    the live server serving ``world``, signed in with ``token`` when given."""
    contexts = []

    def open_(world: World, *, token: str | None = None, auth: bool = False) -> UiPage:
        url = serve_world(world, auth=auth or token is not None)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        # axe-core is served only to the tests' browser, from the page's own origin, so the
        # pages' Content-Security-Policy stays in force while it runs
        context.route(
            "**/static/axe-for-tests.js",
            lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"),
        )
        if token:
            context.add_init_script(f"localStorage.setItem('shipyard.token', {token!r})")
        return UiPage(context.new_page(), url, SCREENSHOTS / world.kind)

    yield open_
    for context in contexts:
        context.close()
