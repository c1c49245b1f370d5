"""The names one run of the demo works under, so that `shipyard demo` can run again and again
in one folder: each run gets a fresh set (experiment, model, dataset, monitor), numbered after
the ones already in the store, and leaves the earlier ones as they were.

The first run uses the plain names (``demo``, ``demo-model``, ``breast-cancer``); the n-th
appends ``-n``. The feature definitions and the ``demo-training`` pipeline are shared: they
are the same every time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from shipyard.tracking import get_client

EXPERIMENT = "demo"
MODEL = "demo-model"
DATASET = "breast-cancer"


@dataclass(frozen=True)
class DemoNames:
    """What the demo's n-th run is called: its experiment, its model (also the name of its
    monitor) and its dataset."""

    number: int
    experiment: str
    model: str
    dataset: str

    @property
    def monitor(self) -> str:
        return self.model

    @classmethod
    def numbered(cls, number: int) -> DemoNames:
        if number < 1:
            raise ValueError(f"demo numbers start at 1, got {number}")
        suffix = "" if number == 1 else f"-{number}"
        return cls(number, EXPERIMENT + suffix, MODEL + suffix, DATASET + suffix)


def first_free(taken: Collection[str]) -> DemoNames:
    """The lowest-numbered names none of which is ``taken``."""
    number = 1
    while True:
        names = DemoNames.numbered(number)
        if not {names.experiment, names.model, names.dataset} & set(taken):
            return names
        number += 1


def next_demo() -> DemoNames:
    """Names for a new run of the demo in the current store (deleted experiments count:
    their names stay reserved)."""
    store = get_client().store
    taken = {e.name for e in store.list_experiments(include_deleted=True)}
    taken |= {m.name for m in store.list_registered_models(MODEL)}
    taken |= {d.name for d in store.list_datasets()}
    taken |= {m.name for m in store.list_monitors()}
    return first_free(taken)
