"""A fresh virtualenv from a recorded package set: ``shipyard reproduce --fresh-env``.

``uv venv`` makes it, with this interpreter when the recorded Python version is this one's
(else uv looks for the recorded version). ``uv pip install`` then installs every recorded
``name==version`` pin, and Shipyard itself as a wheel of the running source (as ``shipyard
build`` bundles it) in place of the recorded ``shipyard`` pin. The project's own
distribution is left out too: the re-run imports the project from the recorded commit.
With ``offline`` nothing is downloaded; the pins come from uv's cache.

A pin that cannot be installed (not on the index, not in the cache offline, no build for
this platform) stops the build with an error naming it; the environment is a scratch
folder of the caller's, and nothing else is touched.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.errors import ConfigError, ShipyardError
from shipyard.project._packages import normalized_name

_SHIPYARD = "shipyard"
#: How uv says which requirement failed (offline, not on the index, no such version).
_REQUIRED = re.compile(
    r"(?:you require|there (?:is|are) no versions? of|Because|Failed to (?:download|build|fetch))"
    r" [`']?([A-Za-z0-9][A-Za-z0-9._-]*)",
    re.IGNORECASE,
)

#: The box-drawing marks uv puts before its lines (x, corner, dash, arrow, bar).
_DRAWING = re.compile(r"^[\s\u00d7\u2570\u2500\u25b6\u2502]+")


@dataclass
class FreshEnv:
    """A virtualenv built from a recorded package set.

    Attributes:
        python: Its interpreter.
        installed: The pins installed from the recorded set.
        skipped: Recorded packages not installed from it, each with why.
    """

    python: Path
    installed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def project_distribution(source: Path) -> str | None:
    """The normalized distribution name of the project at ``source`` (its pyproject.toml),
    if it declares one."""
    try:
        config = tomllib.loads((source / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = config.get("project", {}).get("name")
    return normalized_name(name) if isinstance(name, str) else None


def _uv() -> str:
    found = shutil.which("uv")
    if found is None:
        raise ConfigError(
            "--fresh-env builds the environment with uv, which is not on PATH; install it "
            "(pip install uv, or https://docs.astral.sh/uv/) or reproduce without --fresh-env",
            field="fresh_env",
        )
    return found


def _failed_pin(stderr: str, pins: Mapping[str, str]) -> str:
    """The recorded pin uv's error is about (the first one it names), or ""."""
    for match in _REQUIRED.finditer(stderr):
        name = normalized_name(match[1])
        if name in pins:
            return f"{name}=={pins[name]}"
    return ""


def _reason(stderr: str) -> str:
    """uv's explanation, on one line, without its drawing characters."""
    lines = [_DRAWING.sub("", ln).strip() for ln in stderr.splitlines()]
    return " ".join(ln for ln in lines if ln)[:600] or "no output"


def _held(pins: Mapping[str, str], left_out: set[str]) -> list[str]:
    """This environment's ``name==version`` of every package the recorded set does not
    name: what this Shipyard needs beyond the record is installed at the versions it runs
    with here (the same environment, and what an offline install finds in uv's cache),
    not at the newest an index offers."""
    from shipyard.tracking import package_set

    held = []
    for pin in package_set():
        name = normalized_name(pin.split("==", 1)[0])
        if name not in pins and name not in left_out and name != _SHIPYARD:
            held.append(pin)
    return held


def build_fresh_env(
    pins: Mapping[str, str],
    folder: Path,
    *,
    python: str = "",
    skip: Iterable[str] = (),
    offline: bool = False,
    timeout: float = 1800,
) -> FreshEnv:
    """Create a virtualenv in ``folder`` with the recorded ``pins`` and this Shipyard.

    Args:
        pins: ``{normalized name: version}`` of the recorded package set.
        folder: A new folder for the environment and its scratch files.
        python: The recorded Python version ("" for this interpreter's).
        skip: Distribution names not to install from the set (the project itself).
        offline: Install from uv's cache only.
        timeout: Seconds the install may take.

    Returns:
        The environment, with what was installed and what was left out.

    Raises:
        ShipyardError: A pin cannot be installed (named), or the environment cannot be made.
        ConfigError: uv is not installed.
    """
    from shipyard.serving import installed_wheel

    uv = _uv()
    left_out = {normalized_name(n) for n in skip}
    env = FreshEnv(folder / "venv" / "bin" / "python")
    env.skipped[_SHIPYARD] = "installed from the running source as a wheel"
    for name in sorted(left_out & pins.keys()):
        env.skipped[name] = "the project itself: imported from the recorded commit"
    env.installed = [
        f"{name}=={version}"
        for name, version in sorted(pins.items())
        if name != _SHIPYARD and name not in left_out
    ]
    same = not python or python == platform.python_version()
    flags = ["--offline"] if offline else []
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    made = subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable if same else python, *flags,
         str(folder / "venv")],
        capture_output=True, text=True, timeout=timeout, env=base, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        raise ShipyardError(
            f"cannot create a fresh environment with Python {python or platform.python_version()}"
            f": {_reason(made.stderr)}"
        )
    wheel = installed_wheel(_SHIPYARD, folder / "wheels")
    requirements = folder / "requirements.txt"
    requirements.write_text("".join(f"{pin}\n" for pin in env.installed))
    constraints = folder / "constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in _held(pins, left_out)))
    done = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(env.python), *flags,
         "-r", str(requirements), "-c", str(constraints), str(wheel)],
        capture_output=True, text=True, timeout=timeout, env=base, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pin = _failed_pin(done.stderr, pins)
        what = f"the recorded package {pin}" if pin else "the recorded package set"
        raise ShipyardError(
            f"cannot install {what} into a fresh environment"
            f"{' (offline, from the uv cache)' if offline else ''}: {_reason(done.stderr)}; "
            "nothing was changed: reproduce without --fresh-env runs in the current "
            "environment and names the packages that differ",
            field="packages",
            package=pin,
        )
    return env
