"""Every page of the UI loads against the demo's data with no console error and no serious
accessibility violation, and leaves a screenshot in build/screenshots/."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import World


def _pages(world: World) -> dict[str, str]:
    """name -> address of every page, on the world's objects."""
    store = world.store()
    try:
        runs = store.search_runs([world.experiment], order_by=["metrics.auc desc"], limit=3).runs
        dataset = store.get_dataset_version("breast-cancer")
    finally:
        store.close()
    compare = ",".join(run.id for run in runs)
    return {
        "experiments": "/experiments",
        "runs": f"/experiments/{world.experiment}",
        "demo-runs": f"/experiments/{world.demo_experiment}",
        "run": f"/runs/{world.champion_run}",
        "run-long-history": f"/runs/{world.long_run}",
        "compare": f"/compare?runs={compare}",
        "models": "/models",
        "model": f"/models/{world.model}",
        "model-version": f"/models/{world.model}/2",
        "datasets": "/datasets",
        "dataset": "/datasets/breast-cancer",
        "dataset-version-diff": f"/datasets/breast-cancer/{dataset.version}?diff=1",
        "lineage": f"/lineage?node=model_version:{world.model_version_id}&direction=up&depth=6",
        "pipelines": "/pipelines",
        "pipeline": "/pipelines/demo-training",
        "pipeline-run": f"/pipeline-runs/{world.pipeline_run}",
        "features": "/features",
        "feature-view": "/features/feature_view/measurements",
        "monitors": "/monitors",
        "monitor": "/monitors/demo-model",
        "deployments": "/deployments",
        "settings": "/settings",
    }


def test_every_page_loads_without_errors_and_passes_the_accessibility_check(
    world: World, open_ui: Any
) -> None:
    ui = open_ui(world)
    problems = []
    for name, path in _pages(world).items():
        page = ui.goto(path)
        heading = page.inner_text("main h1")
        if heading in ("Could not load this page", "Not found"):
            problems.append(f"{name}: {page.inner_text('main')[:300]}")
        problems += [f"{name}: {error}" for error in ui.errors]
        ui.errors.clear()
        problems += [f"{name}: {violation}" for violation in ui.axe()]
        ui.shot(name)
    assert not problems, "\n".join(problems)


def test_an_unknown_address_says_so(world: World, open_ui: Any) -> None:
    ui = open_ui(world)
    page = ui.goto("/runs/00000000000000000000000000000000")
    assert page.inner_text("main h1") == "Could not load this page"
    assert "no run with id" in page.inner_text("main .error")


def test_the_run_chart_draws_a_long_history_reduced_on_the_server(
    world: World, open_ui: Any
) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/runs/{world.long_run}")
    chart = page.locator("#charts figure.chart").first
    assert "of 5000 points" in chart.inner_text()
    points = int(chart.get_attribute("data-points") or 0)
    assert 100 < points <= 2000
    assert chart.locator("canvas").count() == 1
    page.select_option("#x-axis", "time")
    ui.settle()
    assert page.locator("#charts figure.chart canvas").count() == 1
    assert not ui.errors
