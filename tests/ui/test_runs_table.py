"""The runs table: server-side filtering, sorting and paging, inline filter errors, the
remembered column choice, and comparing selected runs."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import GENERATED_RUNS, World


def _column(page: Any, header: str) -> list[str]:
    """The cells of the runs table's column ``header``, top to bottom."""
    headers = page.locator("#runs thead th").all_inner_texts()
    index = next(i for i, text in enumerate(headers) if text.strip().rstrip("▲▼ ") == header)
    return page.locator(f"#runs tbody tr td:nth-child({index + 1})").all_inner_texts()


def test_filtering_sorting_and_paging_go_through_the_server(world: World, open_ui: Any) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/experiments/{world.experiment}")
    assert page.locator("#runs tbody tr").count() == 50  # one page, not every run

    page.fill("#filter", "metrics.auc > 0.8 and params.model = 'xgb'")
    page.click("form[role=search] button[type=submit]")
    ui.settle()
    aucs = [float(v) for v in _column(page, "metrics.auc")]
    assert aucs and all(v > 0.8 for v in aucs)
    assert set(_column(page, "params.model")) == {"xgb"}
    assert "filter=" in page.url  # the filtered view has an address

    page.fill("#filter", "")
    page.click("form[role=search] button[type=submit]")
    ui.settle()
    page.click("#runs thead button[data-column='metrics.auc']")
    ui.settle()
    first = [float(v) for v in _column(page, "metrics.auc")]
    assert first == sorted(first, reverse=True)
    assert page.locator("#runs thead th[aria-sort=descending]").count() == 1
    page.click("#next-page")
    ui.settle()
    second = [float(v) for v in _column(page, "metrics.auc")]
    assert second and max(second) <= min(first)
    page.click("#next-page")
    ui.settle()
    assert page.locator("#runs tbody tr").count() == GENERATED_RUNS + 1 - 100
    assert page.is_disabled("#next-page")
    page.click("#runs thead button[data-column='metrics.auc']")  # again: ascending, from page 1
    ui.settle()
    ascending = [float(v) for v in _column(page, "metrics.auc") if v]
    assert ascending == sorted(ascending)
    assert "Page 1" in page.inner_text("#page-info")
    assert not ui.errors


def test_a_bad_filter_shows_the_servers_error_beside_the_box(world: World, open_ui: Any) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/experiments/{world.experiment}")
    page.fill("#filter", "metrics.auc >> 0.8")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#filter-error .error")
    message = page.inner_text("#filter-error .error")
    assert "position" in message or "expected" in message, message
    assert page.get_attribute("#filter", "aria-invalid") == "true"
    assert page.locator("#runs tbody tr").count() == 50  # the last good page stays
    ui.shot("runs-bad-filter")


def test_the_chosen_columns_are_remembered_for_the_experiment(world: World, open_ui: Any) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/experiments/{world.experiment}")
    page.click("details.columns summary")
    page.fill("#column-search", "params.lr")
    page.locator("details.columns label", has_text="params.lr").locator("input").uncheck()
    page.fill("#column-search", "metrics.loss")
    page.locator("details.columns label", has_text="metrics.loss").locator("input").uncheck()
    ui.settle()
    assert "params.lr" not in page.locator("#runs thead").inner_text()
    page.reload()
    ui.settle()
    headers = page.locator("#runs thead").inner_text()
    assert "params.lr" not in headers and "metrics.loss" not in headers
    assert "metrics.auc" in headers
    assert not ui.errors


def test_comparing_selected_runs_draws_the_charts_and_highlights_differences(
    world: World, open_ui: Any
) -> None:
    ui = open_ui(world)
    page = ui.goto(f"/experiments/{world.experiment}")
    for row in range(3):
        page.locator("#runs tbody tr").nth(row).locator("input[type=checkbox]").check()
    page.click("#compare")
    ui.settle()
    assert page.inner_text("main h1") == "Compare 3 runs"
    assert page.locator("#overlay .uplot canvas").count() == 1
    painted = page.evaluate(
        """() => { const c = document.getElementById('parallel');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted > 1000  # lines were drawn
    assert page.locator("#diff tbody tr.differs").count() >= 2  # auc and loss differ
    page.check("#only-diff")
    visible = page.locator("#diff tbody tr:visible").count()
    assert visible == page.locator("#diff tbody tr.differs").count()
    ui.shot("compare-selected")
    assert not ui.errors
