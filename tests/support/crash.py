"""The crash harness: writers killed at random points, and the checks that prove a kill
never corrupts what was stored.

Each writer (``tests/support/crash_child.py``) runs as its own process against a store and
is sent SIGKILL or SIGTERM after a seeded random delay. After each kill the harness checks
that:

- ``shipyard.maintenance.fsck`` finds no problem: every blob a record references is present
  and matches its digest, and no model version or dataset is half-registered;
- every FINISHED run holds everything the writer recorded for it (each point of each metric,
  its params, its artifacts with their digests), and no run is FINISHED that the writer
  never completed;
- after SIGTERM no run is left RUNNING: the run being logged is KILLED and holds every point
  whose ``log_metric`` call had returned (the buffer was flushed); after SIGKILL the runs
  left RUNNING are found dead and marked KILLED by ``reap_runs``;
- every registered model version loads (and predicts what it was fitted to), every dataset
  version loads with its rows, the online store only holds values of real source rows and
  none older than a completed materialization, every prediction the server answered and
  flushed is in the prediction log, and every log file reads.

Trials of one writer and signal accumulate in one store, so each kill lands on the debris
of the ones before it. Used by ``tests/maintenance/test_crash.py`` (a few trials) and
``bench/crash.py`` (hundreds); nothing here depends on pytest.
"""

from __future__ import annotations

import json
import math
import os
import random
import selectors
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support import crash_child as child

WRITERS = ("runs", "artifacts", "models", "datasets", "features", "predictions")
SIGNALS = ("SIGKILL", "SIGTERM")
CHILD = Path(__file__).with_name("crash_child.py")
#: How long after the writer is ready the kill may come, per writer (seconds): a few of its
#: cycles, so kills land in every phase of one.
WINDOWS = {
    "runs": 1.5,
    "artifacts": 2.0,
    "models": 2.0,
    "datasets": 2.0,
    "features": 1.5,
    "predictions": 1.5,
}
START_TIMEOUT_S = 180.0  # a deadline for a loaded machine, not an expectation
STOP_TIMEOUT_S = 60.0
#: The feature source: this many entities, one row an hour for this many hours.
ENTITIES, HOURS = 20, 2_000
SOURCE_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Backend:
    """Where the writers write: a metadata database and a blob store (credentials of an
    object store come from the environment, which the writers inherit)."""

    name: str
    db_url: str = ""
    artifacts_uri: str = ""


@dataclass
class Trial:
    """One kill and what the checks after it found."""

    seed: int
    delay_s: float
    exit_code: int | None = None
    records: int = 0
    reaped: int = 0
    problems: list[str] = field(default_factory=list)
    ready_s: float = 0.0  # from asking for a writer to its READY (fork, store open, warm-up)
    kill_s: float = 0.0  # from asking for a writer to its death
    check_s: float = 0.0  # every check after the kill
    fsck_s: float = 0.0  # of which fsck


@dataclass
class Campaign:
    """The trials of one writer and signal on one backend, in one store."""

    writer: str
    signal: str
    backend: str
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0
    checker: _Checker | None = field(default=None, repr=False)

    @property
    def store(self) -> Any:
        """The store the writers wrote to."""
        assert self.checker is not None
        return self.checker.store

    @property
    def records(self) -> list[dict[str, Any]]:
        """What the writers recorded as done, over all trials."""
        assert self.checker is not None
        return self.checker.records

    def check_again(self) -> list[str]:
        """Run the checks of the store as it is now, as after a kill that wrote nothing:
        what changed since the last check is found the way a later trial's checks find it
        (what they verified before is read again only when it changed)."""
        assert self.checker is not None
        trial = Trial(seed=-1, delay_s=0.0)
        self.checker.since_ms = int(time.time() * 1000)
        self.checker.check(trial, None)
        return trial.problems

    @property
    def problems(self) -> list[str]:
        """Each problem once, with the first trial after which it was seen (the checks
        of a trial cover the records of the trials before it too)."""
        seen: dict[str, int] = {}
        for trial in self.trials:
            for problem in trial.problems:
                seen.setdefault(problem, trial.seed)
        return [f"trial {seed}: {problem}" for problem, seed in seen.items()]

    def summary(self) -> dict[str, Any]:
        return {
            "writer": self.writer,
            "signal": self.signal,
            "backend": self.backend,
            "trials": len(self.trials),
            "records": sum(t.records for t in self.trials),
            "reaped": sum(t.reaped for t in self.trials),
            "problems": self.problems,
            "seconds": round(self.seconds, 1),
        }


def run_campaign(
    writer: str,
    signame: str,
    backend: Backend,
    root: Path,
    *,
    trials: int,
    seed: int = 0,
    server: WriterServer | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> Campaign:
    """Run ``trials`` kills of ``writer`` with ``signame`` on one store under ``root``.

    The module-level SDK is configured to that store for the checks (callers that share
    the process with other work restore it afterwards). ``server`` forks the writers; a
    campaign without one starts its own.
    """
    import shipyard

    if writer not in WRITERS or signame not in SIGNALS:
        raise ValueError(f"unknown writer or signal: {writer!r}, {signame!r}")
    started = time.monotonic()
    home = root / "home"
    root.mkdir(parents=True, exist_ok=True)
    env = _child_env({"SHIPYARD_HOME": str(home), "SHIPYARD_CAPTURE_ENVIRONMENT": "0"})
    for name, value in (("DB_URL", backend.db_url), ("ARTIFACTS_URI", backend.artifacts_uri)):
        if value:
            env[f"SHIPYARD_{name}"] = value
    settings = shipyard.load_settings(
        home=home,
        capture_environment=False,
        **{
            k: v
            for k, v in (("db_url", backend.db_url), ("artifacts_uri", backend.artifacts_uri))
            if v
        },
    )
    checker = _Checker(writer, signame, shipyard.configure(settings), root)
    checker.prepare()
    campaign = Campaign(writer, signame, backend.name, checker=checker)
    own = server is None
    if server is None:
        server = WriterServer(root / "server.log")
    try:
        for number in range(trials):
            trial_seed = seed * 100_000 + number
            rng = random.Random(trial_seed)
            trial = Trial(trial_seed, round(rng.uniform(0, WINDOWS[writer]), 3))
            workdir = root / f"trial-{number}"
            workdir.mkdir(parents=True)
            checker.since_ms = int(time.time() * 1000)  # before this trial's writer exists
            begun = time.monotonic()
            _kill_one(server, writer, signame, trial, workdir, env)
            checked = time.monotonic()
            checker.check(trial, workdir)
            trial.kill_s = round(checked - begun, 2)
            trial.check_s = round(time.monotonic() - checked, 2)
            campaign.trials.append(trial)
            if on_trial is not None:
                on_trial(trial)
    finally:
        if own:
            server.close()
    campaign.seconds = time.monotonic() - started
    return campaign


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment for a writer: the repository importable, one BLAS
    thread, and ``extra``."""
    repo = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": path,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **extra,
    }


class WriterServer:
    """The process that imports the writers' modules once and forks one writer per trial
    (``crash_child.serve``), so a trial does not pay for the imports. One can serve every
    campaign of a test session or a bench run; close it (or use it as a context manager)
    when done."""

    def __init__(self, log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=_child_env({}),
                cwd=log.parent,
            )
        self.log = log
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        if self.line(START_TIMEOUT_S) != "SERVING":
            self.close()
            raise RuntimeError(f"the writer server did not start: {_tail(log)}")

    def __enter__(self) -> WriterServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line(self, timeout: float) -> str | None:
        """The next line the server or its writer printed; None on timeout or end."""
        assert self.proc.stdout is not None
        if not self._sel.select(timeout):
            return None
        raw = self.proc.stdout.readline()
        return raw.decode().strip() if raw else None

    def start(self, writer: str, workdir: Path, seed: int, env: dict[str, str]) -> int:
        """Fork a writer; returns its process id."""
        assert self.proc.stdin is not None
        job = {"writer": writer, "workdir": str(workdir), "seed": seed, "env": env}
        self.proc.stdin.write(json.dumps(job).encode() + b"\n")
        self.proc.stdin.flush()
        reply = self.line(START_TIMEOUT_S) or ""
        if not reply.startswith("PID "):
            raise RuntimeError(f"the writer server answered {reply!r}: {_tail(self.log)}")
        return int(reply.split()[1])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._sel.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _kill_one(
    server: WriterServer,
    writer: str,
    signame: str,
    trial: Trial,
    workdir: Path,
    env: dict[str, str],
) -> None:
    """Start a writer, wait until it is writing, wait the trial's delay, send the signal."""
    stderr = workdir / "stderr.txt"
    asked = time.monotonic()
    pid = server.start(writer, workdir, trial.seed, env)
    first = server.line(START_TIMEOUT_S)
    if first != "READY":
        trial.problems.append(f"the writer did not start ({first}): {_tail(stderr)}")
        _reap(server, pid, trial)
        return
    trial.ready_s = round(time.monotonic() - asked, 2)
    early = server.line(trial.delay_s)
    if early is not None:
        trial.problems.append(f"the writer stopped by itself ({early}): {_tail(stderr)}")
        return
    os.kill(pid, getattr(signal, signame))
    _reap(server, pid, trial)
    expected = -getattr(signal, signame)
    if trial.exit_code != expected:
        trial.problems.append(
            f"exit status {trial.exit_code} after {signame}, not {expected}: {_tail(stderr)}"
        )


def _reap(server: WriterServer, pid: int, trial: Trial) -> None:
    """Wait for the writer's exit status (killing it if it outlives the deadline)."""
    reply = server.line(STOP_TIMEOUT_S)
    if reply is None:
        trial.problems.append(f"the writer was still alive {STOP_TIMEOUT_S:.0f} s after the signal")
        os.kill(pid, signal.SIGKILL)
        reply = server.line(STOP_TIMEOUT_S)
    if reply and reply.startswith(f"EXIT {pid} "):
        trial.exit_code = int(reply.split()[2])


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:]) or "<no output>"


def _records(workdir: Path) -> list[dict[str, Any]]:
    """The side file's complete lines (a line cut by the kill was not fsync'd, so it was
    never promised)."""
    path = workdir / "side.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _progress(workdir: Path) -> tuple[str, int]:
    """The run being logged at the kill and how many of its log_metric calls returned."""
    raw = (workdir / "progress").read_bytes()
    run_id, done = struct.unpack(child.PROGRESS_FORMAT, raw[: child.PROGRESS_SIZE])
    return run_id.rstrip(b"\0").decode(), done


class _Checker:
    """The checks of one campaign's store, with what the trials so far recorded."""

    def __init__(self, writer: str, signame: str, client: Any, root: Path) -> None:
        self.writer = writer
        self.signame = signame
        self.client = client
        self.settings = client.settings
        self.root = root
        self.store = client.store
        self.records: list[dict[str, Any]] = []
        #: When the trial being checked began (epoch ms): every writer before it was dead by
        #: then, so what they wrote is stamped earlier. None reads everything.
        self.since_ms: int | None = None
        # What earlier checks verified in full, with what proves it unchanged since: a
        # later kill cannot change it, and when the proof says it did it is checked again.
        self.loaded: set[int] = set()  # model or dataset versions (immutable blobs, loaded once)
        self.verified: dict[str, tuple[Any, ...]] = {}  # run -> status and points fingerprint
        self.log_files: dict[str, tuple[Any, ...]] = {}  # prediction-log file -> size, version
        self.log_rows: set[tuple[str, int]] = set()  # (prediction_id, row) of those files
        self.listed: list[Any] = []  # the writer's runs after the last reaping

    # ------------------------------------------------------------------ set-up

    def prepare(self) -> None:
        """What the writer needs before it starts: a served model, a feature view."""
        if self.writer == "predictions":
            self._register_served_model()
        elif self.writer == "features":
            self._apply_feature_view()

    def _register_served_model(self) -> None:
        import numpy as np
        import pandas as pd
        from sklearn.linear_model import LinearRegression

        import shipyard

        x = pd.DataFrame({"x": np.arange(10, dtype="float64")})
        model = LinearRegression().fit(x, 2 * x["x"])
        shipyard.register_model(model, child.SERVED, input_example=x.head(2))

    def _apply_feature_view(self) -> None:
        import numpy as np
        import pandas as pd

        from shipyard import features as fs

        entity, hour = np.divmod(np.arange(ENTITIES * HOURS), HOURS)
        source = pd.DataFrame(
            {
                "user_id": entity,
                "event_timestamp": [SOURCE_START + timedelta(hours=int(h)) for h in hour],
                "value": entity * 100_000 + hour,
            }
        )
        path = self.root / "source.parquet"
        source.to_parquet(path)
        user = fs.Entity("user", ["user_id"])
        view = fs.FeatureView(
            child.VIEW, [user], fs.FileSource(str(path)), schema=[fs.Field("value", "int64")]
        )
        fs.apply([user, view], store=self.store)

    # ------------------------------------------------------------------ checks

    def check(self, trial: Trial, workdir: Path | None) -> None:
        """Check the store after the kill of ``trial`` (``workdir`` holds what its writer
        recorded; None checks again what was recorded so far)."""
        from shipyard import maintenance

        new = _records(workdir) if workdir is not None else []
        trial.records = len(new)
        self.records.extend(new)
        problems = trial.problems
        if self.writer in ("runs", "artifacts", "models"):
            problems += self._check_runs(trial, workdir)
        started = time.monotonic()
        report = maintenance.fsck(self.settings)
        trial.fsck_s = round(time.monotonic() - started, 2)
        problems += [f"fsck: {p.kind} {p.subject}: {p.detail}" for p in report.problems]
        checks: dict[str, Callable[[], Iterable[str]]] = {
            "runs": lambda: self._check_points(),
            "artifacts": lambda: self._check_artifacts(),
            "models": lambda: self._check_models(),
            "datasets": lambda: self._check_datasets(),
            "features": lambda: self._check_features(),
            "predictions": lambda: self._check_predictions(),
        }
        problems += checks[self.writer]()

    def _runs(self) -> list[Any]:
        try:
            experiment = self.store.get_experiment_by_name(child.EXPERIMENT)
        except Exception:  # the writer was killed before its first run
            return []
        runs = []
        token = None
        while True:
            page = self.store.search_runs([experiment.id], "", [], 1000, token, False)
            runs += page.runs
            token = page.next_page_token
            if token is None:
                return runs

    def _check_runs(self, trial: Trial, workdir: Path | None) -> list[str]:
        """Statuses as the kill left them: FINISHED only when the writer completed the run;
        after SIGTERM nothing RUNNING, the active run KILLED with its points; after SIGKILL
        the dead runs reaped."""
        problems = []
        completed = {r["run"] for r in self.records if "run" in r}
        active, done = _progress(workdir) if workdir is not None else ("", 0)
        runs = self._runs()
        for run in runs:
            status = str(run.status)
            if status == "FINISHED" and run.id not in completed and self.writer != "models":
                problems.append(f"run {run.id} is FINISHED but the writer never completed it")
            if status == "RUNNING" and self.signame == "SIGTERM":
                problems.append(f"run {run.id} is still RUNNING after SIGTERM")
        if active and active not in completed and self.writer == "runs":
            run = self.store.get_run(active)
            steps = [p.step for p in self.store.get_metric_history(active, "m")]
            if steps != list(range(len(steps))):
                problems.append(f"run {active}: the stored steps are not 0..n-1")
            if self.signame == "SIGTERM":
                if str(run.status) != "KILLED":
                    problems.append(f"run {active} is {run.status} after SIGTERM, not KILLED")
                if not done <= len(steps) <= done + 1:
                    problems.append(
                        f"run {active}: {done} log_metric calls returned before SIGTERM, "
                        f"{len(steps)} points stored"
                    )
            elif len(steps) > done + 1:
                problems.append(f"run {active}: {len(steps)} points stored, {done} logged")
        if runs:
            trial.reaped = len(self.client.reap_runs(child.EXPERIMENT))
            runs = self._runs()
        self.listed = runs
        still = [r.id for r in runs if str(r.status) == "RUNNING"]
        if still:
            problems.append(f"runs left RUNNING after reaping: {still}")
        return problems

    def _check_points(self) -> Iterable[str]:
        """Every run the writer completed holds its params and, once FINISHED or after
        SIGTERM (which flushes), every point; a run SIGKILL stopped before its end may
        have lost buffered points, never stored one that was not logged.

        Statuses and params are checked from the listing after every kill; the points of a
        run are read back whenever its status or its points' fingerprint (count, sums of
        steps and values, newest row) differ from what the last full read of them saw."""
        listed = {run.id: run for run in self.listed}
        prints = self._fingerprints()
        for record in self.records:
            run = listed.get(record["run"])
            if run is None:
                yield f"run {record['run']} was completed but is not stored"
                continue
            params = {k: str(v) for k, v in record["params"].items()}
            if {k: run.params.get(k) for k in params} != params:
                yield f"run {run.id}: params {run.params} are not {params}"
            seen = (str(run.status), prints.get(run.id))
            if self.verified.get(run.id) == seen:
                continue
            stored = [(p.step, p.value) for p in self.store.get_metric_history(run.id, "m")]
            logged = [(s, child.metric_value(s)) for s in range(record["points"])]
            whole = str(run.status) == "FINISHED" or self.signame == "SIGTERM"
            if stored != (logged if whole else logged[: len(stored)]):
                yield (
                    f"run {run.id} ({run.status}): {len(stored)} of {record['points']} "
                    "points stored, or not the values logged"
                )
            else:
                self.verified[run.id] = seen

    def _fingerprints(self) -> dict[str, tuple[Any, ...]]:
        """Per run, what changes when a point of metric ``m`` is added, removed or
        altered: the count, the sums of steps and values, the newest row's id."""
        from sqlalchemy import text

        query = text(
            "SELECT run_id, COUNT(*), SUM(step), SUM(value), MAX(id) FROM metrics "
            "WHERE key = 'm' GROUP BY run_id"
        )
        with self.store.engine.connect() as conn:
            return {row[0]: tuple(row[1:]) for row in conn.execute(query)}

    def _check_artifacts(self) -> Iterable[str]:
        for record in self.records:
            stored = {a.path: a.digest for a in self.store.list_artifacts(record["run"])}
            for path, digest in record["artifacts"]:
                if stored.get(path) != digest:
                    yield f"run {record['run']}: artifact {path} is {stored.get(path)}"

    def _check_models(self) -> Iterable[str]:
        import numpy as np

        from shipyard import models
        from shipyard.errors import NotFound

        slopes = {r["version"]: r["slope"] for r in self.records}
        try:
            versions = self.store.list_model_versions(child.MODEL)
        except NotFound:  # killed before its first version
            versions = []
        yield from self._lost("model", slopes, versions)
        for version in self._unloaded(versions):
            try:
                got = float(
                    models.load(f"{child.MODEL}/{version.version}").predict(np.array([[1.0]]))[0]
                )
            except Exception as exc:
                yield f"model version {version.version} does not load: {exc!r}"
                continue
            want = slopes.get(version.version)
            if want is not None and not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6):
                yield f"model version {version.version} predicts {got}, fitted to {want}"

    @staticmethod
    def _lost(kind: str, recorded: dict[int, Any], versions: list[Any]) -> Iterable[str]:
        """The versions the writer registered that the store does not hold."""
        for number in sorted(recorded.keys() - {v.version for v in versions}):
            yield f"{kind} version {number} was registered but is not stored"

    def _unloaded(self, versions: list[Any]) -> list[Any]:
        """The versions not loaded by an earlier check (each is loaded once)."""
        new = [v for v in versions if v.version not in self.loaded]
        self.loaded.update(v.version for v in new)
        return new

    def _check_datasets(self) -> Iterable[str]:
        import numpy as np

        from shipyard import data

        recorded = {r["version"]: r for r in self.records}
        names = {d.name for d in self.store.list_datasets()}
        versions = self.store.list_dataset_versions(child.DATASET) if child.DATASET in names else []
        yield from self._lost("dataset", recorded, versions)
        for version in self._unloaded(versions):
            try:
                frame = data.load(version, store=self.store)
            except Exception as exc:
                yield f"dataset version {version.version} does not load: {exc!r}"
                continue
            seed = int(frame["seed"].iloc[0])
            expected = np.random.default_rng(seed).random(len(frame))
            if len(frame) != version.num_rows or not np.array_equal(frame["x"], expected):
                yield f"dataset version {version.version} does not hold the rows registered"
            record = recorded.get(version.version)
            if record and (record["rows"], record["hash"]) != (len(frame), version.content_hash):
                yield f"dataset version {version.version} is not the one the writer registered"

    def _check_features(self) -> Iterable[str]:
        from shipyard import features

        if not self.records:
            return
        reached = max(r["end_hours"] for r in self.records)  # the last completed window
        rows = [{"user_id": e} for e in range(ENTITIES)]
        found = features.get_online_features(
            rows,
            [f"{child.VIEW}:value"],
            store=self.store,
            as_of=SOURCE_START + timedelta(hours=HOURS),
        )
        for entity, value in enumerate(found.values["value"]):
            if value is None:
                yield f"entity {entity}: no online value after a completed materialization"
                continue
            owner, hour = divmod(int(value), 100_000)
            if owner != entity or not reached - 1 <= hour < reached + 7:
                yield f"entity {entity}: online value {value} is not a row of the last windows"

    def _check_predictions(self) -> Iterable[str]:
        """Every answered and flushed row is in the log once, and every file reads.

        Files are written under a temporary name and renamed, or uploaded in one PUT, and
        never touched again: the files earlier checks read are listed again after every kill
        (size and version: mtime, or the object's ETag), and only the rows stamped since this
        trial began are read, unless a listed file is gone or changed (then all of them)."""
        from shipyard.serving import read_predictions

        files = self._log_listing()
        gone = sorted(self.log_files.keys() - files.keys())
        changed = sorted(
            p for p in self.log_files.keys() & files.keys() if self.log_files[p] != files[p]
        )
        for path in gone:
            yield f"prediction-log file {path} is gone"
        for path in changed:
            yield f"prediction-log file {path} changed after it was written"
        since = self.since_ms
        if gone or changed or since is None:
            self.log_rows.clear()
            since = None
        try:
            logged = read_predictions(
                child.SERVED, start=since, columns=["prediction_id", "row"], settings=self.settings
            )
        except Exception as exc:
            yield f"the prediction log does not read: {exc!r}"
            return
        pairs = (  # an empty log has no columns either
            [] if logged.empty else list(zip(logged["prediction_id"], logged["row"], strict=True))
        )
        new = set(pairs)
        if len(pairs) != len(new) or new & self.log_rows:
            yield "the prediction log holds a row twice"
        self.log_rows |= new
        self.log_files = files
        for record in self.records:
            for pid, rows in record["answered"]:
                missing = [r for r in range(rows) if (pid, r) not in self.log_rows]
                if missing:
                    yield f"prediction {pid}: rows {missing} flushed but not in the log"

    def _log_listing(self) -> dict[str, tuple[Any, ...]]:
        """The prediction log's finished files as listed now: path -> (size, version)."""
        from shipyard.serving import log_root

        fs = self.store.blobs.fs
        root = fs._strip_protocol(log_root(self.settings))
        fs.invalidate_cache()  # all of it: a listing of a folder below may be cached too
        try:
            found = fs.find(root, detail=True)
        except FileNotFoundError:
            return {}
        return {
            path: (info.get("size"), info.get("ETag") or info.get("mtime"))
            for path, info in found.items()
            if path.endswith(".parquet") and not path.rsplit("/", 1)[-1].startswith(".")
        }
