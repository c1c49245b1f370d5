"""What a run records about where it ran: git commit and dirty flag, Python, packages, host.

Git is asked with a short timeout so a huge or broken repository never stalls a run; the
package-set hash is computed once per process. A nested run records its parent's facts (it
ran in the same process); :func:`recorded_environment` also finds them through the parents
of runs nested before nested runs recorded them.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from shipyard.client import Store
from shipyard.entities import Run
from shipyard.errors import NotFound

TAG_PREFIX = "shipyard."
#: The tags :func:`environment_tags` may record.
ENVIRONMENT_KEYS = frozenset(
    f"{TAG_PREFIX}{name}"
    for name in (
        "python",
        "platform",
        "host",
        "user",
        "packages.sha256",
        "packages.count",
        "source",
        "git.commit",
        "git.dirty",
        "git.branch",
    )
)


def current_user() -> str:
    """The login name, or ``unknown`` when the platform cannot say."""
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER", "unknown")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(cwd: Path | None = None) -> dict[str, str]:
    """Commit, branch and whether the work tree has uncommitted changes, if in a git repo."""
    where = cwd or Path.cwd()
    commit = _git(["rev-parse", "HEAD"], where)
    if not commit:
        return {}
    info = {f"{TAG_PREFIX}git.commit": commit}
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    if status is not None:
        info[f"{TAG_PREFIX}git.dirty"] = "true" if status else "false"
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    if branch:
        info[f"{TAG_PREFIX}git.branch"] = branch
    return info


@functools.cache
def packages_hash() -> tuple[str, int]:
    """A sha256 over the sorted ``name==version`` of every installed distribution, and the count."""
    from importlib import metadata

    names = sorted(
        {f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions()}
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest(), len(names)


def environment_tags() -> dict[str, str]:
    """The system tags recorded on every new top-level run."""
    digest, count = packages_hash()
    tags = {
        f"{TAG_PREFIX}python": platform.python_version(),
        f"{TAG_PREFIX}platform": platform.platform(terse=True),
        f"{TAG_PREFIX}host": socket.gethostname(),
        f"{TAG_PREFIX}user": current_user(),
        f"{TAG_PREFIX}packages.sha256": digest,
        f"{TAG_PREFIX}packages.count": str(count),
    }
    if sys.argv and sys.argv[0]:
        tags[f"{TAG_PREFIX}source"] = sys.argv[0][-1000:]
    tags.update(git_info())
    return tags


def environment_of(tags: Mapping[str, str]) -> dict[str, str]:
    """The environment facts among a run's tags."""
    return {key: value for key, value in tags.items() if key in ENVIRONMENT_KEYS}


def recorded_environment(run: Run, store: Store) -> tuple[dict[str, str], Run]:
    """The environment facts of a run: its own, or else those of its nearest ancestor that
    recorded some, with the run they were recorded on."""
    source, seen = run, {run.id}
    while not environment_of(source.tags) and source.parent_run_id not in (None, *seen):
        try:
            source = store.get_run(str(source.parent_run_id))
        except NotFound:
            break
        seen.add(source.id)
    return environment_of(source.tags), source
