"""Author keys: a keyed hash with a secret created once, privately, on the user's machine."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.crawler.privacy import SECRET_ENV, author_key, comment_author_key, load_or_create_secret


def test_secret_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "author-key.secret"
    secret = load_or_create_secret(path)
    assert len(secret) == 32 and path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == secret
    assert list(path.parent.iterdir()) == [path]   # no temporary file left behind


def test_secret_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.secret"
    monkeypatch.setenv(SECRET_ENV, str(path))
    secret = load_or_create_secret()
    assert path.read_bytes() == secret


def test_a_too_short_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.secret"
    path.write_bytes(b"abc")
    with pytest.raises(UserError, match="holds 3 bytes"):
        load_or_create_secret(path)


def test_author_key_is_stable_keyed_and_normalised() -> None:
    secret, other = b"s" * 32, b"t" * 32
    key = author_key(secret, "De Sousa")
    assert len(key) == 32 and int(key, 16) >= 0
    assert key == author_key(secret, " De Sousa ")
    assert key != author_key(other, "De Sousa")            # without the secret, no lookup
    assert key != author_key(secret, "de sousa")
    assert "Sousa" not in key
    assert author_key(secret, "Jos\u00e9") == author_key(secret, "Jose\u0301")   # NFC == NFD


def test_a_member_id_keys_the_author_and_never_collides_with_a_name() -> None:
    """A page's profile link and a dump's commenter_id key one member alike; a username that spells the
    id is another author."""
    secret = b"s" * 32
    by_id = comment_author_key(secret, 108069, "jdoe")
    assert by_id == comment_author_key(secret, 108069, None) == comment_author_key(secret, 108069, "other name")
    assert by_id not in {comment_author_key(secret, None, "108069"), comment_author_key(secret, None, "jdoe")}
    assert comment_author_key(secret, None, "jdoe") == author_key(secret, "jdoe")
    assert comment_author_key(secret, None, None) is None and comment_author_key(secret, None, "") is None
