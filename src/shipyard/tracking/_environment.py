"""What a run records about where it ran: git commit and dirty flag, Python, packages, host.

Git is asked with a short timeout so a huge or broken repository never stalls a run; the
package set is read once per process. A run records the set's sha256 as a tag and the set
itself (one ``name==version`` a line) as a content-addressed blob with that digest, stored
once per store and process: runs of one environment share one copy, and ``reproduce`` can
name each package that changed and rebuild the environment from it. A nested run records
its parent's facts (it ran in the same process); :func:`recorded_environment` also finds
them through the parents of runs nested before nested runs recorded them.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import logging
import os
import platform
import socket
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipyard.artifacts import scratch_file
from shipyard.client import Store
from shipyard.entities import PACKAGE_SET_TAG, Run
from shipyard.errors import InvalidArgument, NotFound, ShipyardError

_log = logging.getLogger(__name__)

TAG_PREFIX = "shipyard."
#: The tags :func:`environment_tags` may record.
ENVIRONMENT_KEYS = frozenset(
    f"{TAG_PREFIX}{name}"
    for name in (
        "python",
        "platform",
        "host",
        "user",
        "packages.count",
        "source",
        "git.commit",
        "git.dirty",
        "git.branch",
    )
) | {PACKAGE_SET_TAG}


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
def package_set() -> tuple[str, ...]:
    """The sorted, distinct ``name==version`` of every installed distribution (names in
    lower case), read once per process."""
    from importlib import metadata

    return tuple(
        sorted(
            {f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions()}
        )
    )


def package_set_text(packages: Sequence[str]) -> bytes:
    """A package set as it is hashed and stored: one ``name==version`` a line."""
    return "\n".join(packages).encode()


def packages_hash() -> tuple[str, int]:
    """A sha256 over the sorted ``name==version`` of every installed distribution, and the count."""
    packages = package_set()
    return hashlib.sha256(package_set_text(packages)).hexdigest(), len(packages)


#: The stores this process has stored its package set in (once each).
_SETS_STORED: weakref.WeakSet[Store] = weakref.WeakSet()


def store_package_set(store: Store) -> None:
    """Store this process's package set as a blob (its digest is the run's
    :data:`PACKAGE_SET_TAG`), once per store: 10,000 runs of one environment keep one copy.

    Recording it is best effort: a store that refuses it is logged, and the run goes on
    with its hash alone (``reproduce`` then compares hashes only).
    """
    if store in _SETS_STORED:
        return
    try:
        with scratch_file("shipyard-blob-packages-") as path:
            path.write_bytes(package_set_text(package_set()))
            store.put_blob(path)
    except (ShipyardError, OSError) as exc:
        _log.warning("the package set was not stored (only its hash is recorded): %s", exc)
        return
    _SETS_STORED.add(store)


def recorded_package_set(store: Store, digest: str) -> list[str] | None:
    """The package set a run recorded under ``digest`` (its :data:`PACKAGE_SET_TAG`), or
    None when only the hash was recorded (runs from before the set was kept, or a store
    that refused it)."""
    try:
        text = store.fetch_blob(digest).read_text()
    except (NotFound, InvalidArgument):
        return None
    return [line for line in text.splitlines() if line]


def environment_tags() -> dict[str, str]:
    """The system tags recorded on every new top-level run."""
    digest, count = packages_hash()
    tags = {
        f"{TAG_PREFIX}python": platform.python_version(),
        f"{TAG_PREFIX}platform": platform.platform(terse=True),
        f"{TAG_PREFIX}host": socket.gethostname(),
        f"{TAG_PREFIX}user": current_user(),
        PACKAGE_SET_TAG: digest,
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
