"""``fsck``: every blob a record references is present and matches its digest, and no model
version or dataset is half-registered.

Blobs cannot be fetched back from anywhere, so ``repair`` fixes only what the records can:
it drops half-registrations (a model version whose files do not add up to its manifest, a
dataset without versions) and lists the blobs that need re-uploading; putting the same
content again (re-logging the artifact, registering the same files) re-writes a damaged blob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shipyard.config import Settings
from shipyard.maintenance._open import open_local
from shipyard.store import maintenance_db

ProblemKind = Literal["missing_blob", "damaged_blob", "half_registered"]


@dataclass(frozen=True)
class Problem:
    """One thing fsck found wrong.

    ``subject`` is a blob digest or a version's name; ``owners`` the records that reference
    the blob; ``action`` what to do about it, or what ``repair`` did.
    """

    kind: ProblemKind
    subject: str
    detail: str
    owners: tuple[str, ...] = ()
    action: str = ""


@dataclass
class FsckReport:
    """What fsck checked and found; ``ok`` when nothing is wrong (after any repair)."""

    blobs_checked: int = 0
    references: int = 0
    problems: list[Problem] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def needs_upload(self) -> list[str]:
        """The digests of the blobs that must be uploaded again."""
        return [p.subject for p in self.problems if p.kind != "half_registered"]


def fsck(
    settings: Settings | None = None, *, repair: bool = False, full: bool = True
) -> FsckReport:
    """Check every referenced blob and every registration.

    Args:
        settings: The database and blob store to check; the configured ones by default.
        repair: Drop half-registrations (the blobs that need uploading are only listed).
        full: Hash every blob (reads all of them); False checks presence and size only.

    Returns:
        The report; a repaired half-registration is no longer counted as a problem.
    """
    store = open_local(settings)
    owners: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    report = FsckReport(repaired=repair)
    with store.engine.connect() as conn:
        for ref in maintenance_db.blob_references(conn):
            report.references += 1
            owners.setdefault(ref.digest, []).append(ref.owner)
            if ref.size is not None:
                sizes.setdefault(ref.digest, ref.size)
        half = maintenance_db.half_registrations(conn)
    for digest, who in sorted(owners.items()):
        report.blobs_checked += 1
        wrong = store.blobs.check(digest, sizes.get(digest), full=full)
        if wrong is None:
            continue
        report.problems.append(
            Problem(
                "missing_blob" if wrong == "missing" else "damaged_blob",
                digest,
                wrong,
                tuple(who),
                "upload it again: re-log the artifact or register the same files "
                "(a damaged blob is re-written), or restore it from a backup",
            )
        )
    for item in half:
        if repair:
            with store.engine.begin() as conn:
                maintenance_db.drop_half_registration(conn, item)
            continue
        report.problems.append(
            Problem(
                "half_registered",
                f"{item.kind.replace('_', ' ')} {item.name}",
                item.problem,
                action="`shipyard fsck --repair` drops it; register it again",
            )
        )
    return report
