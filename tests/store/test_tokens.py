"""API tokens are checked in constant time: the stored salted hash and the presented token's
hash meet only in ``hmac.compare_digest``, for a good token and for a forged one with a real
id, so how long a refusal takes says nothing about how much of a guess was right."""

from __future__ import annotations

import hmac

import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.errors import Unauthenticated

ID_END = len("shy_") + 12  # a token is shy_<12-hex id>_<secret>


def test_tokens_are_compared_in_constant_time(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(sqlite_settings)
    store.create_user("ann")
    token = store.create_token("ann", "laptop").token
    real = hmac.compare_digest
    compared: list[tuple[object, object]] = []

    def spy(a: object, b: object) -> bool:
        compared.append((a, b))
        return real(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert store.authenticate(token).name == "ann"
    forged = token[: ID_END + 1] + ("A" if token[-1] != "A" else "B") * (len(token) - ID_END - 1)
    with pytest.raises(Unauthenticated):
        store.authenticate(forged)
    assert len(compared) == 2
    (stored, good), (stored_again, bad) = compared
    assert stored == stored_again == good != bad  # the row's hash against each candidate's
    for digest in (stored, good, bad):  # hashes of one length, never the token itself
        assert isinstance(digest, str) and len(digest) == 64 and token[ID_END:] not in digest
