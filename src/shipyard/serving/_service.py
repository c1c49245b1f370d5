"""The models a server answers with: the version an alias points at, following it as it
moves, and an optional challenger for canary or shadow rollouts.

A *track* follows one reference (``churn@champion``; a pinned ``churn/3`` never moves). It
polls the registry; when the alias points elsewhere it loads the new version in a worker
thread, warms it up, and only then swaps it in. New requests go to the new version; a request
that was routed to the old one finishes on it: routing takes a lease on the version (in the
same event-loop step that picks it), and the old version is retired (its batcher drained and
closed) only once every lease is returned. No request fails because of a swap.

When the reference stops resolving later (the model or its alias deleted, the registry
unreachable), the loaded version keeps answering: the track records the problem and since
when (``problem``, ``problem_since``), which ``/readyz`` and the
``shipyard_serving_reference_ok`` gauge report, until the reference resolves again.

Everything asynchronous here (the refresh lock, the lease events, the batchers' queues) is
created on the event loop that uses it, when first used there, never at construction (the
app is built before its loop runs, often on another thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shipyard import models
from shipyard.errors import NotFound, ServiceUnavailable
from shipyard.registry import LoadedModel, ModelRef, parse_ref, resolve
from shipyard.serving._batcher import Batcher
from shipyard.serving._config import ServingConfig
from shipyard.serving._inputs import InputPlan, online_features
from shipyard.serving._labels import labels_from_proba
from shipyard.serving._matrix_model import matrix_model
from shipyard.serving._metrics import ServingMetrics, observe_all
from shipyard.serving._outputs import LABEL_OUTPUT, PROBA_OUTPUT, classes_of, with_proba
from shipyard.serving._startup import model_folder

log = logging.getLogger("shipyard.serving")
#: Version tag (or metadata key) naming the feature service a model was trained from: such a
#: model is called with entity keys and its features come from the online store.
FEATURE_SERVICE_KEY = "feature_service"


@dataclass
class Served:
    """One loaded version, ready to answer."""

    name: str
    version: int
    alias: str
    role: str
    model: LoadedModel
    plan: InputPlan
    batcher: Batcher
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Requests routed to this version and not answered yet (leases); retiring waits for 0.
    users: int = 0
    _idle: asyncio.Event | None = field(default=None, repr=False)

    #: The class labels of the probability columns; None: the model gives no probabilities.
    classes: list[Any] | None = None

    def outputs(self) -> list[dict[str, Any]]:
        """The output tensors, as V2 model metadata lists them."""
        out: list[dict[str, Any]] = [{"name": LABEL_OUTPUT, "datatype": "FP64", "shape": [-1]}]
        if self.classes is not None:
            out.append(
                {
                    "name": PROBA_OUTPUT,
                    "datatype": "FP64",
                    "shape": [-1, len(self.classes)],
                    "parameters": {"classes": self.classes},
                }
            )
        return out

    def acquire(self) -> Served:
        """Take a lease: this version stays open until the matching ``release()``."""
        self.users += 1
        return self

    def release(self) -> None:
        """Return a lease taken with ``acquire()``."""
        self.users -= 1
        if not self.users and self._idle is not None:
            self._idle.set()

    async def idle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no request holds a lease."""
        deadline = time.monotonic() + timeout
        while self.users and (left := deadline - time.monotonic()) > 0:
            self._idle = asyncio.Event()  # on the loop that waits
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), left)


class Track:
    """One reference followed through the registry (``role``: primary or challenger)."""

    def __init__(self, ref: str, role: str, config: ServingConfig, metrics: ServingMetrics) -> None:
        #: The reference as given (``churn@champion``, ``churn/3`` or a folder).
        self.reference = ref
        self.folder = model_folder(ref)
        if self.folder is not None:  # a model folder (a build context): pinned, no registry
            about = _folder_info(self.folder)
            self.ref: ModelRef | str = str(self.folder)
            self.name = str(about.get("name") or self.folder.name)
            self.alias = ""
            self._folder_version = int(about.get("version") or 1)
        else:
            parsed = parse_ref(ref)
            if parsed.name is None:
                raise NotFound(
                    f"{ref!r} does not name a registered model (use NAME@ALIAS or NAME/N)"
                )
            self.ref = parsed
            self.name = parsed.name
            self.alias = parsed.alias or ""
        self.role = role
        self.config = config
        self.metrics = metrics
        self.current: Served | None = None
        #: Why the last refresh failed (None: it did not), and since when (epoch ms).
        self.problem: str | None = None
        self.problem_since: int | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.retiring: set[asyncio.Task[None]] = set()

    def _guard(self) -> asyncio.Lock:
        """The refresh lock, made on the loop that first refreshes (a lock binds to one loop).

        A track serves one event loop: its batchers' queues and futures live there too, so a
        second loop using it is a bug (RuntimeError), never something to paper over with a
        second lock."""
        loop = asyncio.get_running_loop()
        if self._lock is None:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        elif self._lock_loop is not loop:
            raise RuntimeError(f"the track of {self.name!r} already serves another event loop")
        return self._lock

    @property
    def follows(self) -> bool:
        """True when the track moves with an alias."""
        return bool(self.alias)

    async def refresh(self) -> bool:
        """Swap to the version the reference names now, if it moved; True on a swap."""
        async with self._guard():
            if self.folder is not None:
                if self.current is not None:
                    return False
                number, metadata = self._folder_version, {}
            else:
                version = await asyncio.to_thread(resolve, self.ref)
                number, metadata = version.version, dict(version.metadata)
                if FEATURE_SERVICE_KEY in version.tags:  # set at registration, as a tag
                    metadata[FEATURE_SERVICE_KEY] = version.tags[FEATURE_SERVICE_KEY]
            if self.current is not None and self.current.version == number:
                return False
            served = await asyncio.to_thread(self._load, number, metadata)
            old, self.current = self.current, served
            self.metrics.model_info.labels(
                self.name, str(served.version), self.alias, self.role
            ).set(1)
            if old is not None:
                self.metrics.swaps.labels(self.name).inc()
                log.info(
                    "%s@%s: swapped version %s -> %s",
                    self.name,
                    self.alias,
                    old.version,
                    served.version,
                )
                task = asyncio.get_running_loop().create_task(self._retire(old))
                self.retiring.add(task)
                task.add_done_callback(self.retiring.discard)
            return True

    async def _retire(self, old: Served, timeout: float = 60.0) -> None:
        """Release a swapped-out version once every request routed to it has its answer."""
        await old.idle(timeout)
        await old.batcher.drain(timeout)
        old.batcher.close()
        self.metrics.model_info.labels(self.name, str(old.version), self.alias, self.role).set(0)

    def _load(self, version: int, metadata: dict[str, Any]) -> Served:
        """Load and warm up a version (in a worker thread)."""
        source: str | Path = self.folder if self.folder is not None else f"{self.name}/{version}"
        model = models.load(source, trusted=self.config.trusted, enforce_signature=False)
        plan = InputPlan(
            model.signature,
            feature_service=metadata.get(FEATURE_SERVICE_KEY),
            feature_source=self.config.feature_source or online_features,
        )
        labels = (self.name, str(version))
        predictions = self.metrics.predictions.labels(*labels)

        proba = _proba_of(model) if self.config.proba != "off" else None
        example = model.input_example
        checked = plan.check(example) if example is not None else None
        flavor = model.metadata.flavor
        fast = matrix_model(
            model.model,
            flavor,
            plan.columns if plan.feature_source is None else None,
            checked,
            proba is not None,
        )
        # One model call per batch where predict is by definition the argmax of predict_proba
        labels_of = (
            labels_from_proba(model.model, flavor, model.predict, proba, checked)
            if proba is not None
            else None
        )

        def predict(data: Any) -> Any:
            array = fast.matrix(data) if fast is not None else None
            call: Callable[[Any], Any] = model.predict
            proba_call: Callable[[Any], Any] | None = proba
            given = data
            if fast is not None and array is not None:  # the checked frame, as its matrix
                call, given = fast.predict, array
                proba_call = fast.predict_proba if proba is not None else None
            probabilities = None
            if proba_call is not None and labels_of is not None:
                probabilities = proba_call(given)
                out = labels_of(probabilities)
            else:
                out = call(given)
                if proba_call is not None:
                    probabilities = proba_call(given)
            values = np.asarray(out)
            if values.ndim == 1 and values.dtype.kind in "biuf":
                observe_all(predictions, values[:1000])
            if probabilities is not None:
                return with_proba(out, probabilities, model.model)
            return out

        rows = self.metrics.batch_rows.labels(*labels)
        requests = self.metrics.batch_requests.labels(*labels)
        seconds = self.metrics.model_seconds.labels(*labels)

        def observe(n_requests: int, n_rows: int, took: float) -> None:
            rows.observe(n_rows)
            requests.observe(n_requests)
            seconds.observe(took)

        batcher = Batcher(
            predict,
            max_batch_size=self.config.max_batch_size,
            max_wait=self.config.max_wait_ms / 1000,
            observe=observe,
        )
        served = Served(self.name, version, self.alias, self.role, model, plan, batcher)
        served.metadata = dict(metadata)
        _warm_up(served, self.config.warmup_rounds)
        known = getattr(model.model, "classes_", None) if proba is not None else None
        if known is not None:
            served.classes = classes_of(model.model, len(known))
        return served


def _proba_of(model: Any) -> Any:
    """The model's ``predict_proba`` (None when it has none)."""
    try:
        return model.predict_proba
    except AttributeError:
        return None


def _folder_info(folder: Path) -> dict[str, Any]:
    from shipyard.serving._build import MODEL_JSON

    for candidate in (folder.parent / MODEL_JSON, folder / MODEL_JSON):
        if candidate.is_file():
            return dict(json.loads(candidate.read_text()))
    return {}


def _warm_up(served: Served, rounds: int) -> None:
    """Run the stored input example through the whole path a few times (imports, caches,
    the first-call costs of the model), so the first user request is not the slow one."""
    from shipyard.serving._batcher import stack

    example = served.model.input_example
    if example is None or rounds <= 0:
        return
    # The example holds the model's own inputs: for a model fed by a feature service it is
    # already the features, so only the signature check applies.
    data = served.plan.check(example)
    for _ in range(rounds):
        served.model.predict(data)
    served.model.predict(stack([data, data]))


class ModelService:
    """The primary track, the optional challenger, and the routing between them."""

    def __init__(self, ref: str, config: ServingConfig, metrics: ServingMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.primary = Track(ref, "primary", config, metrics)
        self.name = self.primary.name
        self.challenger: Track | None = None
        if config.challenger:
            alias = config.challenger.split("@", 1)[-1]
            self.challenger = Track(f"{self.name}@{alias}", "challenger", config, metrics)
        self._poller: asyncio.Task[None] | None = None
        self._started = False
        self.ready = False
        self.error: str | None = None
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Load (and warm up) every track, then follow the aliases (once: a second start,
        from any loop, is a RuntimeError rather than a second poller on the same tracks)."""
        if self._started:
            raise RuntimeError(f"the model service of {self.name!r} is already started")
        self._started = True
        try:
            await self.primary.refresh()
            if self.challenger is not None:
                try:
                    await self.challenger.refresh()
                except NotFound as exc:
                    log.warning("challenger not loaded yet: %s", exc)
        except Exception as exc:
            self.error = str(exc)
            log.error("cannot load %s: %s", self.primary.ref, exc)
            raise
        for track in (self.primary, self.challenger):
            if track is not None and track.current is not None:
                self.metrics.reference_ok.labels(track.name, track.alias, track.role).set(1)
        self.ready = True
        if self.config.poll_seconds > 0:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_seconds)
            await self.refresh()

    async def refresh(self) -> None:
        """Follow every alias once: swap where it moved; where it no longer resolves (the
        model or alias deleted, the registry away), keep serving what is loaded and record
        the problem (``Track.problem``, the ``reference_ok`` gauge) until it resolves."""
        for track in (self.primary, self.challenger):
            if track is None or not track.follows:
                continue
            ok = self.metrics.reference_ok.labels(track.name, track.alias, track.role)
            try:
                await track.refresh()
            except Exception as exc:
                if track.problem is None:
                    track.problem_since = int(time.time() * 1000)
                    log.warning("cannot refresh %s: %s", track.ref, exc)
                track.problem = str(exc)
                self.metrics.refresh_errors.labels(track.name, track.role).inc()
                ok.set(0)
            else:
                if track.problem is not None:
                    log.info("%s resolves again", track.ref)
                track.problem, track.problem_since = None, None
                ok.set(1)

    def find(self, name: str, version: str | None = None) -> Served:
        """The loaded version answering for ``name`` (and ``version`` when given)."""
        if name != self.name:
            raise NotFound(f"model {name!r} is not served here; this server serves {self.name!r}")
        served = [t.current for t in (self.primary, self.challenger) if t and t.current]
        if not served:
            raise ServiceUnavailable(f"model {name!r} is still loading; retry shortly")
        if version is None:
            return served[0]
        for candidate in served:
            if str(candidate.version) == version:
                return candidate
        loaded = ", ".join(str(s.version) for s in served)
        raise NotFound(f"version {version} of {name!r} is not loaded here (loaded: {loaded})")

    def route(self) -> tuple[Served, Served | None]:
        """The version that answers the next request, and one that shadows it (or None)."""
        primary = self.primary.current
        if primary is None:
            raise ServiceUnavailable(f"model {self.name!r} is still loading; retry shortly")
        challenger = self.challenger.current if self.challenger else None
        if challenger is None:
            return primary, None
        if self.config.mode == "shadow":
            return primary, challenger
        if random.random() < self.config.canary_share:
            return challenger, None
        return primary, None

    def lease(self, name: str, version: str | None = None) -> tuple[Served, Served | None]:
        """``find`` (with ``version``) or ``route`` (without), with a lease taken on each
        version returned; the caller releases them. Picking and leasing happen in one step
        of the event loop, so a swap can never retire a version between the two."""
        if version is not None:
            return self.find(name, version).acquire(), None
        self.find(name)
        served, shadow = self.route()
        return served.acquire(), shadow.acquire() if shadow is not None else None

    def spawn(self, coro: Any) -> None:
        """Run a background coroutine (a shadow call), keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def status(self) -> list[dict[str, Any]]:
        """Per track: the reference, the version loaded, and whether the reference still
        resolves (and if not, why and since when)."""
        return [
            {
                "role": track.role,
                "reference": track.reference,
                "version": track.current.version if track.current is not None else None,
                "resolves": track.problem is None,
                "problem": track.problem,
                "problem_since": track.problem_since,
            }
            for track in (self.primary, self.challenger)
            if track is not None
        ]

    def depth(self) -> int:
        return sum(
            t.current.batcher.depth for t in (self.primary, self.challenger) if t and t.current
        )

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop following, and drain every queued request."""
        self.ready = False
        if self._poller is not None:
            self._poller.cancel()  # it only sleeps and swaps; nothing to wait for
        end = time.monotonic() + timeout
        pending = [*self._background]
        for track in (self.primary, self.challenger):
            pending += track.retiring if track is not None else ()
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for track in (self.primary, self.challenger):
            if track is not None and track.current is not None:
                await track.current.batcher.drain(max(0.0, end - time.monotonic()))
                track.current.batcher.close()
