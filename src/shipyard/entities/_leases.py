"""Leases: which process may do a piece of work that only one may do at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Lease:
    """A named lease held by ``holder`` (a process's id) until ``expires_at`` (epoch ms,
    the store's clock), first taken at ``acquired_at``. Its holder renews it well before
    it expires; a holder that stops renewing loses it to the next taker after expiry."""

    name: str
    holder: str
    acquired_at: int
    expires_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lease:
        return cls(**data)
