"""Is a RUNNING run still being recorded? Owners, heartbeats and the verdict on dead runs.

A run started with ``start_run`` records its owner (host, process id, when that process
started, and on Linux the boot and process-namespace ids) in the ``shipyard.owner`` tag, and
the client's background thread refreshes the ``shipyard.heartbeat`` tag (epoch ms) while the
run is active. A process killed with SIGKILL, out of memory or by a crash of the machine
leaves its runs RUNNING; :func:`death_reason` tells such runs from live ones:

- on the owner's machine (same host, boot and process namespace) the process is asked for
  directly: gone, a zombie, or a process id reused by a younger process means dead; a live
  owner means alive however old its heartbeat (a suspended process is not dead);
- elsewhere, a heartbeat older than the timeout means dead.

Runs without an owner tag (created through the Store directly, or by an older Shipyard) are
never judged: nothing says who should be keeping them alive.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from shipyard.entities import Run, RunStatus

OWNER_TAG = "shipyard.owner"
HEARTBEAT_TAG = "shipyard.heartbeat"
#: Why a run was ended by someone other than its own process (a signal, a dead owner).
END_REASON_TAG = "shipyard.end_reason"


@dataclass(frozen=True)
class Owner:
    """The process recording a run. ``started`` (when the process started, in the platform's
    units), ``boot`` and ``pidns`` are None where the platform cannot say."""

    host: str
    pid: int
    started: int | None = None
    boot: str | None = None
    pidns: str | None = None

    def to_tag(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_tag(cls, text: str | None) -> Owner | None:
        """The owner a tag names, or None when the tag is missing or malformed."""
        if not text:
            return None
        try:
            data = json.loads(text)
            owner = cls(
                host=str(data["host"]),
                pid=int(data["pid"]),
                started=None if data.get("started") is None else int(data["started"]),
                boot=None if data.get("boot") is None else str(data["boot"]),
                pidns=None if data.get("pidns") is None else str(data["pidns"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return owner if owner.pid > 0 else None

    def same_machine(self, other: Owner) -> bool:
        """True when process ids of ``self`` can be looked up from ``other``: the same host
        name, boot and process namespace (a container with its own namespace, or another
        machine that happens to share the host name, is not)."""
        return (self.host, self.boot, self.pidns) == (other.host, other.boot, other.pidns)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks after boot) from /proc, on Linux."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _psutil_started(pid: int) -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    try:
        return int(psutil.Process(pid).create_time() * 1000)
    except Exception:  # gone, or not ours to ask
        return None


def _started(pid: int) -> int | None:
    if os.path.isdir("/proc/self"):
        stat = _proc_stat(pid)
        return None if stat is None else stat[1]
    return _psutil_started(pid)


def _pidns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


_this: Owner | None = None


def this_process() -> Owner:
    """The owner record of the current process (recomputed after a fork)."""
    global _this
    if _this is None or _this.pid != os.getpid():
        pid = os.getpid()
        _this = Owner(
            host=socket.gethostname(),
            pid=pid,
            started=_started(pid),
            boot=_read("/proc/sys/kernel/random/boot_id"),
            pidns=_pidns(),
        )
    return _this


def process_gone(owner: Owner) -> str | None:
    """Why ``owner``'s process no longer exists (None while it does, or when it cannot be
    told from here). Only meaningful for an owner on this machine."""
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return f"its process {owner.pid} on {owner.host} is gone"
    except OSError:  # exists, but belongs to another user
        pass
    stat = _proc_stat(owner.pid)
    if stat is not None and stat[0] in ("Z", "X"):
        return f"its process {owner.pid} on {owner.host} has exited"
    now_started = _started(owner.pid)
    if owner.started is not None and now_started is not None and now_started != owner.started:
        return f"its process {owner.pid} on {owner.host} is gone (the id now names another)"
    return None


def last_seen(run: Run) -> int:
    """When the run was last known alive: its heartbeat, else its start (epoch ms)."""
    try:
        return max(int(run.tags.get(HEARTBEAT_TAG, "")), run.start_time)
    except ValueError:
        return run.start_time


def death_reason(run: Run, now_ms: int, timeout_s: float) -> str | None:
    """Why a RUNNING run's owner is dead, or None when it is alive, unknown, or the run is not
    RUNNING. ``timeout_s`` is the heartbeat timeout (0: heartbeats are not judged)."""
    if run.status != RunStatus.RUNNING:
        return None
    owner = Owner.from_tag(run.tags.get(OWNER_TAG))
    if owner is None:
        return None
    if owner.same_machine(this_process()) and os.name != "nt":  # os.kill(pid, 0) kills there
        return process_gone(owner)
    silent_ms = now_ms - last_seen(run)
    if timeout_s > 0 and silent_ms > timeout_s * 1000:
        return f"no heartbeat from {owner.host} (process {owner.pid}) for {silent_ms // 1000}s"
    return None
