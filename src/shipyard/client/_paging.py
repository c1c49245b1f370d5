"""Opaque page tokens for search: an offset bound to the query it was issued for."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

from shipyard.errors import InvalidArgument


def _fingerprint(
    experiment_ids: Sequence[str], filter: str | None, order_by: Sequence[str] | None
) -> str:
    text = json.dumps([sorted(experiment_ids), filter or "", list(order_by or [])])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(
    offset: int, experiment_ids: Sequence[str], filter: str | None, order_by: Sequence[str] | None
) -> str:
    """A token for the page starting at ``offset`` of this query."""
    raw = json.dumps({"o": offset, "q": _fingerprint(experiment_ids, filter, order_by)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_token(
    token: str | None,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[str] | None,
) -> int:
    """The offset a token stands for; a token from another query is refused."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, query = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(
            "page_token is not one Shipyard issued; pass the next_page_token of a previous page",
            field="page_token",
        ) from None
    if query != _fingerprint(experiment_ids, filter, order_by) or offset < 0:
        raise InvalidArgument(
            "page_token belongs to a different search (experiments, filter or order_by "
            "changed); start again without a token",
            field="page_token",
        )
    return offset
