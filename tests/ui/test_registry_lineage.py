"""Promoting from the model page goes through the API's role check and the gates; the
lineage page walks from a prediction, or the model version that served it, back to its
data."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import World


def test_a_viewer_cannot_promote_and_the_page_says_why(world: World, open_ui: Any) -> None:
    ui = open_ui(world, token=world.tokens["viewer"])
    page = ui.goto(f"/models/{world.model}")
    assert "viewer on default" in page.inner_text("#whoami")
    page.select_option("#promote-version", "1")
    page.fill("#promote-alias", "champion")
    page.click("#promote-submit")
    page.wait_for_selector("#promote-result .error")
    reason = page.inner_text("#promote-result .error")
    assert "needs the maintainer role on project 'default'" in reason
    assert "has viewer" in reason
    ui.shot("model-promote-refused")
    store = world.store()
    try:
        assert store.get_model_version_by_alias(world.model, "champion").version == 2
    finally:
        store.close()
    # a dry run only reads: the viewer may check the gates
    page.fill("#promote-requires", "metrics.val_auc > 0.5")
    page.click("text=Check gates (dry run)")
    page.wait_for_selector("#promote-result .ok")
    assert "would be promoted" in page.inner_text("#promote-result")


def test_a_maintainer_promotes_through_the_gates(world: World, open_ui: Any) -> None:
    ui = open_ui(world, token=world.tokens["maintainer"])
    page = ui.goto(f"/models/{world.model}")
    page.select_option("#promote-version", "1")
    page.fill("#promote-alias", "ui-candidate")
    page.fill("#promote-requires", "metrics.val_auc > 2")
    page.click("#promote-submit")
    page.wait_for_selector("#promote-result .error")
    assert "Rejected" in page.inner_text("#promote-result .error")
    assert "✘" not in page.inner_text("#promote-result")  # the gate table says fail in words
    assert "fail" in page.inner_text("#promote-result table")
    page.fill("#promote-requires", "metrics.val_auc > 0.5")
    page.fill("#promote-reason", "promoted from the UI test")
    page.click("#promote-submit")
    page.wait_for_selector("#promote-result .ok")
    assert "@ui-candidate now points at v1" in page.inner_text("#promote-result")
    store = world.store()
    try:
        event = store.list_alias_events(world.model)[0]
        assert (event.alias, event.to_version, event.actor) == ("ui-candidate", 1, "maintainer")
        store.delete_model_alias(world.model, "ui-candidate")
    finally:
        store.close()
    assert not ui.errors


def test_without_a_token_the_page_asks_for_one(world: World, open_ui: Any) -> None:
    ui = open_ui(world, auth=True)
    page = ui.page
    page.goto(ui.url + "/models")
    page.wait_for_selector("#banner .error")
    assert "token" in page.inner_text("#banner").lower()
    page.click("#banner a")
    page.fill("#token", world.tokens["viewer"])
    page.click("text=Save")
    page.wait_for_selector("#token-result .ok")
    assert "Signed in as viewer" in page.inner_text("#token-result")
    ui.goto("/models")
    assert world.model in page.inner_text("main table")


def test_the_lineage_page_walks_from_a_served_version_to_its_datasets(
    world: World, open_ui: Any
) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/models/{world.model}/2")
    page.click("text=walk this version's lineage")
    ui.settle()
    assert page.locator("#graph canvas").count() >= 1  # Cytoscape drew the graph
    page.select_option("#direction", "up")
    page.fill("#depth", "8")
    page.click("text=Walk")
    ui.settle()
    edges = page.inner_text("main table")
    assert "run " in edges and "pipeline run demo-training" in edges
    assert "dataset demo-training.split.train@2" in edges
    page.click("main table a:text('dataset demo-training.split.train@2')")
    ui.settle()
    assert page.inner_text("main h1") == "demo-training.split.train@2"
    page.click("text=walk this version's lineage")
    ui.settle()
    page.select_option("#direction", "up")
    page.fill("#depth", "8")
    page.click("text=Walk")
    ui.settle()
    assert "dataset breast-cancer@2" in page.inner_text("main table")  # back to the raw data
    assert not ui.errors


def test_the_lineage_page_walks_from_a_prediction_to_its_dataset(
    world: World, open_ui: Any
) -> None:
    ui = open_ui(world)
    page = ui.goto("/lineage")
    page.select_option("#node-kind", "prediction")
    page.fill("#node-id", world.prediction)  # answered by the demo's model server
    page.select_option("#direction", "up")
    page.fill("#depth", "12")
    page.click("text=Walk")
    ui.settle()
    summary = page.inner_text("#prediction-summary")
    assert world.prediction in summary and f"answered by model {world.model}/" in summary
    assert "trained by run" in summary
    edges = page.inner_text("main table")
    assert "answered" in edges and f"model {world.model}/" in edges
    assert "dataset demo-training.split.train@" in edges and "dataset breast-cancer@" in edges
    assert page.locator("#graph canvas").count() >= 1
    ui.shot("lineage-from-prediction")
    assert not ui.errors
    page.fill("#node-id", "f" * 32)  # a prediction nobody logged: said so, inline
    page.click("text=Walk")
    ui.settle()
    assert "no such prediction" in page.inner_text("main .error")
