from __future__ import annotations

from keel.health.access import DetailsAccess


def test_no_token_means_no_details_unless_public() -> None:
    assert not DetailsAccess().allows([(b"x-health-token", b"")])
    assert DetailsAccess(public=True).allows([])


def test_token_must_match_in_the_configured_header() -> None:
    access = DetailsAccess(token="s3cret-token", header="X-Probe-Key")
    assert access.allows([(b"x-probe-key", b"s3cret-token")])
    assert access.allows([(b"X-Probe-Key", b"s3cret-token")])
    assert not access.allows([(b"x-probe-key", b"s3cret-tokeN")])
    assert not access.allows([(b"x-health-token", b"s3cret-token")])
    assert not access.allows([])


def test_the_token_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(DetailsAccess(token="s3cret-token"))
