"""The Shipyard image's Dockerfile: multi-stage, pinned from the lock file, non-root, probed,
labelled; clean under checkov."""

from __future__ import annotations

import re

import pytest

from shipyard.deploy import StackSettings, dockerfile


def test_the_image_is_multi_stage_and_pinned_from_the_lock_file():
    text = dockerfile(StackSettings())
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert "uv export --frozen --no-dev" in text and "COPY --from=build /opt/venv" in text
    for extra in ("postgres", "s3", "redis", "serving"):
        assert f"--extra {extra}" in text


def test_the_image_runs_as_a_user_and_probes_healthz():
    text = dockerfile(StackSettings(server_port=9090))
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "http://127.0.0.1:9090/healthz" in text
    assert 'org.opencontainers.image.version="$VERSION"' in text
    assert 'org.opencontainers.image.revision="$COMMIT"' in text
    assert "$$" not in text and not re.search(r"\$\{[a-z_]+\}", text)  # all substituted


@pytest.mark.slow
def test_checkov_finds_no_policy_failure(tmp_path, checkov):
    (tmp_path / "Dockerfile").write_text(dockerfile(StackSettings()))
    report = checkov(tmp_path, "dockerfile")
    assert report["failed"] == [] and report["passed"] > 20
