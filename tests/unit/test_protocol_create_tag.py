"""Creates carry the client's id (protocol/create_tag.py); repeats are answered once
(server/idempotency.py). Pure rules, no network."""

from __future__ import annotations

import json

from gladia_cli.protocol.create_tag import TAG, carrying, metadata_filter, tagged
from gladia_cli.server.idempotency import RepeatedRequests


def test_the_id_joins_the_users_metadata_within_gladias_limit() -> None:
    body = {"audio_url": "u", "custom_metadata": {"ticket": "T-1"}}
    sent = tagged(body, "abc")
    assert sent == {"audio_url": "u", "custom_metadata": {"ticket": "T-1", TAG: "abc"}}
    assert body["custom_metadata"] == {"ticket": "T-1"}  # the caller's body is left alone
    assert tagged({}, "abc") == {"custom_metadata": {TAG: "abc"}}
    assert tagged({"custom_metadata": "not an object"}, "abc") is None
    assert tagged({"custom_metadata": {"n": "x" * 1980}}, "abc") is None  # > 2000 characters


def test_only_items_carrying_the_id_count_even_if_the_filter_was_ignored() -> None:
    listing = {
        "items": [
            {"id": "a", "custom_metadata": {TAG: "other"}},
            {"id": "b", "custom_metadata": {TAG: "abc"}},
            {"id": "c"},
            "junk",
        ]
    }
    assert [item["id"] for item in carrying(listing, "abc")] == ["b"]
    assert carrying({"items": None}, "abc") == [] and carrying([], "abc") == []
    assert json.loads(metadata_filter("abc")) == {TAG: "abc"}


def test_repeated_requests_are_per_owner_and_bounded() -> None:
    seen = RepeatedRequests(limit=2)
    seen.remember("alice", "k1", "upload-1")
    assert seen.first("alice", "k1") == "upload-1"
    assert seen.first("bob", "k1") is None  # another key's client never gets alice's upload
    assert seen.first("alice", None) is None and seen.first("alice", "x" * 500) is None
    seen.remember("alice", "k2", "upload-2")
    seen.remember("alice", "k3", "upload-3")
    assert seen.first("alice", "k1") is None  # the oldest forgotten past the bound
    assert seen.first("alice", "k3") == "upload-3"
