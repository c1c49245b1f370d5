"""The repository's deploy/ folder is exactly what `shipyard deploy stack` renders."""

from __future__ import annotations

from pathlib import Path

REPO_DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_committed_deploy_folder_is_up_to_date(tmp_path):
    from shipyard.deploy import write_stack

    rendered = {p.relative_to(tmp_path): p.read_text() for p in write_stack(tmp_path)}
    # what the rendered .gitignore keeps out of git (the user's secrets) is never committed
    ignored = {
        Path("compose") / line
        for line in (tmp_path / "compose" / ".gitignore").read_text().splitlines()
        if line and not line.startswith("#")
    }
    rendered = {p: text for p, text in rendered.items() if p not in ignored}
    committed = {
        p.relative_to(REPO_DEPLOY): p.read_text()
        for p in REPO_DEPLOY.rglob("*")
        if p.is_file() and p.relative_to(REPO_DEPLOY) not in ignored
    }
    stale = sorted(str(p) for p in rendered if committed.get(p) != rendered[p])
    extra = sorted(str(p) for p in set(committed) - set(rendered))
    assert not stale and not extra, (
        f"deploy/ is out of date ({stale}; not rendered: {extra}); run "
        "`shipyard deploy stack --output deploy`"
    )
