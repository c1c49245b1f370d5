"""The Store protocol, everything the SDK may ask of a backend, and CheckedStore, the base
of its implementations that applies the input checks the protocol declares.

``Store`` is the union of the area protocols (tracking, lineage, blobs, registry, data,
pipelines, access, features, monitoring, deployments, leases), each in its own module with
its checks. Two implementations exist: :class:`~shipyard.client.LocalStore` talks to the
metadata database and blob store directly (embedded use, and the server's own backend),
and :class:`~shipyard.client.RestStore` sends the same calls to a Shipyard server. The SDK, CLI
and server use only this protocol, so every feature works embedded and remote with one code
path, and one conformance suite runs against each implementation.
"""

from __future__ import annotations

import inspect
from typing import Any, Generic, Protocol, runtime_checkable

from shipyard.client._access import AccessStore
from shipyard.client._blobs import BlobsStore
from shipyard.client._checking import Declared, applied, checked, declared
from shipyard.client._data import DataStore
from shipyard.client._deployments import DeploymentsStore
from shipyard.client._features import FeaturesStore
from shipyard.client._leases import LeasesStore
from shipyard.client._lineage import LineageStore
from shipyard.client._monitoring import MonitoringStore
from shipyard.client._pipelines import PipelinesStore
from shipyard.client._registry import RegistryStore
from shipyard.client._tracking import TrackingStore


@runtime_checkable
class Store(
    TrackingStore,
    LineageStore,
    BlobsStore,
    RegistryStore,
    DataStore,
    PipelinesStore,
    AccessStore,
    FeaturesStore,
    MonitoringStore,
    DeploymentsStore,
    LeasesStore,
    Protocol,
):
    """Backend operations: tracking, lineage, blobs, the model registry, datasets, pipelines,
    schedules, access control, the feature-store registry, monitors, deployments and
    leases."""

    def close(self) -> None:
        """Release what the store holds (connections); it must not be used afterwards."""
        ...


def protocol_methods() -> dict[str, Any]:
    """Every method of the Store protocol by name, as its area protocol declares it."""
    found: dict[str, Any] = {}
    for area in Store.__mro__:
        if area not in (Protocol, Generic, object):
            for name, member in vars(area).items():
                if inspect.isfunction(member) and not name.startswith("_"):
                    found.setdefault(name, member)
    return found


class CheckedStore(Store):
    """The base of every Store implementation: when a subclass is created, each of its
    methods whose protocol method declares checks (or that declares its own, for a method
    only that implementation has) is wrapped to run them first.

    A subclass must implement every protocol method (TypeError naming the first it lacks).
    Put it last among the bases, after the area translations, so their methods come first.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        protocol = protocol_methods()
        for name, stub in protocol.items():
            impl = _implementation(cls, name)
            if impl is None:
                raise TypeError(f"{cls.__name__} does not implement Store.{name}")
            rules = declared(stub)
            if rules is not None:
                _apply(cls, name, impl, rules, stub.__doc__)
        for name in dir(cls):
            if name in protocol or name.startswith("__"):
                continue
            impl = _implementation(cls, name)
            rules = declared(impl)
            if impl is not None and rules is not None:
                _apply(cls, name, impl, rules, None)


def _implementation(cls: type, name: str) -> Any:
    """The function ``cls.name`` resolves to, None when only a protocol defines it."""
    for klass in cls.__mro__:
        member = vars(klass).get(name)
        if member is not None:
            is_protocol = bool(getattr(klass, "_is_protocol", False))
            return None if is_protocol or not inspect.isfunction(member) else member
    return None


def _apply(cls: type, name: str, impl: Any, rules: Declared, doc: str | None) -> None:
    """Set ``cls.name`` to ``impl`` running ``rules`` (once: a wrapper is kept as it is)."""
    if applied(impl) is rules:
        return
    setattr(cls, name, checked(impl, rules, doc))
