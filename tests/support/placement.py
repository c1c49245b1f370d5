"""Pytest plugin: where and in which order the session's tests run under pytest-xdist.

Two rules, both about the suite's wall clock on two workers (``-n 2``, ``--dist loadgroup``):

* **Costly per-worker fixtures start once.** A session- or module-scoped fixture that starts
  something expensive (Ray; Chromium and the web UI's two seeded worlds, each a `shipyard
  demo` run; the crash harness's writer server; a module's own restartable PostgreSQL or
  Redis; an MLflow store written by MLflow itself) is set up by every worker that runs one
  of its tests. The tests that use one are put in one ``xdist_group`` (:data:`GROUPS`), so
  one worker sets it up once.
* **Longest first.** The session runs the soak, then the groups (each a long block of work),
  then the other ``slow`` tests, then the rest: each worker takes long work at the start and
  the short tests fill in at the end, instead of one worker finishing a minute-long test
  while the other has nothing left. ``--no-loadscope-reorder`` (in ``addopts``) keeps this
  order; xdist would otherwise put every group, whatever its length, before everything else.
"""

from __future__ import annotations

import pytest

#: Fixture -> the xdist group of every test that uses it (directly or through another
#: fixture). ``{module}`` stands for the test's module: a module-scoped fixture.
GROUPS = {
    "ray_local": "ray",
    "browser": "ui",
    "world": "ui",
    "sqlite_world": "ui",
    "postgres_world": "ui",
    "writer_server": "crash",
    "restartable_postgres": "{module}",
    "restartable_redis": "{module}",
    "mlflow_store": "{module}",
}


def _group_of(item: pytest.Item) -> str | None:
    """The xdist group ``item`` belongs in, or None."""
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name"))
    for fixture in getattr(item, "fixturenames", ()):
        group = GROUPS.get(fixture)
        if group is not None:
            return group.format(module=item.nodeid.split("::")[0])
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests of costly fixtures (before xdist reads the groups), then order the
    session longest first. The sort is stable: within each kind, the collection order."""
    grouped = set()
    for item in items:
        group = _group_of(item)
        if group is None:
            continue
        grouped.add(item.nodeid)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(
        key=lambda item: (
            item.get_closest_marker("soak") is None,
            item.nodeid not in grouped,
            item.get_closest_marker("slow") is None,
        )
    )
