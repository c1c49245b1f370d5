"""Which step outputs a run may load when loading them runs code, and the seal that vouches
for cached ones.

Unpickling runs whatever code the pickle names, and loading a custom (``pyfunc``) model
imports the class its descriptor names. Step runs live in the store, where anyone with write
access could point a step's outputs at a blob of their own (``PATCH /step-runs/{id}``), so
a reference read back from the store is never enough. A run loads such an output only when it
can vouch for the output's content hash:

- a step of this very run produced it (the engine got the reference from its executor, not
  from the store), or
- it is an output of a step run this run reuses (a cache hit on the key it computed itself,
  or a step carried over by ``resume``) and the reference carries a valid **seal**: an HMAC
  made by the engine that recorded that step run, over the pipeline's name, the project, the
  cache key, the output's type and its content hash. The key is a random secret in the
  Shipyard home (``<home>/keys/step-outputs.key``, readable by its owner only): the store
  never sees it, so nobody who can only write the store can make a seal;

and, for a pickle, the step (or its pipeline) sets ``trusted_pickle=True``. The loaders then
check the content they read against that hash (see ``_step_outputs``).

A seal made for another pipeline, project or home (a colleague's run with their own home)
cannot be checked here: those cached outputs are not reused and the step runs again. A
missing or wrong seal under this home's own name means the reference was changed after the
step ran: the step fails, naming the step run, and nothing is loaded.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.entities import StepRun, StepStatus
from shipyard.errors import ConfigError
from shipyard.pipelines._hashing import canonical_json

KEY_PATH = Path("keys") / "step-outputs.key"
KEY_BYTES = 32
#: The output types whose references are sealed: what loading may run code for.
SEALED_TYPES = frozenset({"pickle", "model"})


def runs_code(ref: Mapping[str, Any]) -> bool:
    """Whether loading this output runs code it names: a pickle, or a custom model."""
    kind = ref.get("type")
    return kind == "pickle" or (kind == "model" and ref.get("flavor") == "pyfunc")


class Verdict(enum.Enum):
    """What a seal says about an output reference."""

    SEALED = "sealed"  # made by this home for this pipeline, project and cache key
    ELSEWHERE = "elsewhere"  # made for another pipeline, project or home: cannot be checked
    BROKEN = "broken"  # missing, or wrong under this home's name: the reference was changed


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{path} is not a step-output key ({len(key)} bytes, expected {KEY_BYTES}); "
            "delete it to make a new one (cached pickle outputs will then be computed again)",
            field="home",
        )
    return key


@lru_cache(maxsize=16)
def home_key(home: Path) -> bytes:
    """The home's secret for sealing step outputs, made on first use (readable by its owner
    only; concurrent first uses agree on one key)."""
    path = home / KEY_PATH
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(draft, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return _read_key(path)


@dataclass(frozen=True)
class Sealer:
    """Seals and checks the output references of one pipeline's step runs in one project."""

    key: bytes
    pipeline: str
    project: str

    @classmethod
    def open(cls, settings: Settings, pipeline: str) -> Sealer:
        return cls(home_key(settings.home.resolve()), pipeline, settings.project)

    @property
    def key_id(self) -> str:
        """Names the key (not secret): tells a seal of this home from another home's."""
        return hashlib.sha256(b"shipyard step-output key\n" + self.key).hexdigest()[:16]

    def _mac(self, ref: Mapping[str, Any], cache_key: str) -> str:
        claim = {
            "pipeline": self.pipeline,
            "project": self.project,
            "key": self.key_id,
            "cache_key": cache_key,
            "type": ref.get("type"),
            "hash": ref.get("hash"),
        }
        return hmac.new(self.key, canonical_json(claim).encode(), hashlib.sha256).hexdigest()

    def seal(self, ref: dict[str, Any], cache_key: str) -> dict[str, Any]:
        """``ref`` with its seal, when it is of a type loading may run code for."""
        if ref.get("type") not in SEALED_TYPES:
            return ref
        seal = {
            "pipeline": self.pipeline,
            "project": self.project,
            "key": self.key_id,
            "mac": self._mac(ref, cache_key),
        }
        return {**ref, "seal": seal}

    def check(self, ref: Mapping[str, Any], cache_key: str) -> Verdict:
        """Whether ``ref`` carries this home's seal for this pipeline, project and key."""
        seal = ref.get("seal")
        if not isinstance(seal, dict) or not isinstance(seal.get("mac"), str):
            return Verdict.BROKEN
        mine = (self.pipeline, self.project, self.key_id)
        if (seal.get("pipeline"), seal.get("project"), seal.get("key")) != mine:
            return Verdict.ELSEWHERE
        if hmac.compare_digest(seal["mac"], self._mac(ref, cache_key)):
            return Verdict.SEALED
        return Verdict.BROKEN


@dataclass(frozen=True)
class Reuse:
    """Whether a step run's recorded outputs may be reused by a run: ``ok`` with the hashes
    it may load (``vouched``), or why not (``broken`` when a reference was changed)."""

    ok: bool
    vouched: frozenset[str] = frozenset()
    reason: str = ""
    broken: bool = False


def check_reuse(
    sealer: Sealer, refs: Iterable[Mapping[str, Any]], cache_key: str, *, trusts_pickle: bool
) -> Reuse:
    """Whether the recorded outputs ``refs`` of a step run with ``cache_key`` can be reused
    by a step that does (or does not) set ``trusted_pickle``."""
    vouched: set[str] = set()
    for index, ref in enumerate(refs):
        kind = ref.get("type")
        if kind not in SEALED_TYPES:
            continue
        verdict = sealer.check(ref, cache_key)
        if verdict is Verdict.BROKEN and runs_code(ref):
            what = "a pickle" if kind == "pickle" else "a custom model"
            why = (
                f"its output {index} is {what} whose reference has no valid seal of this "
                "Shipyard home: it was changed after the step ran (or recorded by an older "
                "Shipyard), and loading it could run code nobody vetted"
            )
            return Reuse(False, reason=why, broken=True)
        if kind == "pickle" and not trusts_pickle:
            why = f"output {index} is a pickle and the step does not set trusted_pickle=True"
            return Reuse(False, reason=why)
        if verdict is Verdict.SEALED:
            vouched.add(str(ref.get("hash")))
        elif runs_code(ref):  # sealed elsewhere: not this run's to vouch for
            why = (
                f"output {index} was sealed by a run of another pipeline, project or "
                "Shipyard home, so this run cannot vouch for it"
            )
            return Reuse(False, reason=why)
    return Reuse(True, frozenset(vouched))


def vouched_outputs(sealer: Sealer, steps: Iterable[StepRun]) -> frozenset[str]:
    """The content hashes of the outputs of ``steps`` that carry this home's seal."""
    return frozenset(
        str(ref.get("hash"))
        for step in steps
        if step.status == StepStatus.FINISHED
        for ref in step.outputs
        if sealer.check(ref, step.cache_key) is Verdict.SEALED
    )


__all__ = [
    "Reuse",
    "Sealer",
    "Verdict",
    "check_reuse",
    "home_key",
    "runs_code",
    "vouched_outputs",
]
