"""The leases' table (`store/_leases.py` takes, renews and releases them)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import IDENT_LEN, NAME_LEN, Base, table


class LeaseRow(Base):
    """A named lease: who holds it and until when (the single active scheduler)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    holder: Mapped[str] = mapped_column(String(NAME_LEN))
    acquired_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


LEASES = table(LeaseRow)
