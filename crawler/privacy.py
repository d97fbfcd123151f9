"""Author keys: comments by one author can be grouped, but the username cannot be looked up.

`author_key` is HMAC-SHA256(secret, identity), truncated to 16 bytes (128
bits, no practical collisions among a site's users). The identity is the
member's numeric id where the source gives one (a page's profile link
`USER_ID=`, a dump's `commenter_id`), so a crawled page and an imported dump
key one member alike; else the username. The secret is created
once on the user's machine and never written into any output, so nobody
holding the Parquet files can test a guessed username against the keys,
while the same user's crawls (resumes, re-parses) keep producing the same keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import unicodedata
from pathlib import Path

from aesthetic.core.errors import UserError

SECRET_ENV = "AESTHETIC_AUTHOR_SECRET"
DEFAULT_SECRET_PATH = Path("~/.config/aesthetic-comments/author-key.secret")
SECRET_BYTES = 32
MIN_SECRET_BYTES = 16
KEY_BYTES = 16

log = logging.getLogger(__name__)


def secret_path(path: Path | None = None) -> Path:
    """Where the secret lives: `path`, else $AESTHETIC_AUTHOR_SECRET, else ~/.config/…/author-key.secret."""
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get(SECRET_ENV) or DEFAULT_SECRET_PATH).expanduser()


def load_or_create_secret(path: Path | None = None) -> bytes:
    """Read the secret, or create it (32 random bytes, mode 0600) if it does not exist yet.

    Creation is atomic (written aside, then linked into place), so two crawlers
    starting together end up sharing one secret, never a half-written one.
    """
    target = secret_path(path)
    if not target.exists():
        _create(target)
    try:
        secret = target.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the author-key secret {target}: {exc.strerror or exc}",
                        hint=f"set {SECRET_ENV} to a readable path") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise UserError(f"the author-key secret {target} holds {len(secret)} bytes, "
                        f"fewer than {MIN_SECRET_BYTES}: it is not a secret this tool made",
                        hint="move it away to create a new one (author keys will change)")
    if target.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("author-key secret %s is readable by other users; chmod 600 it", target)
    return secret


def _create(target: Path) -> None:
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, target)   # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    except OSError as exc:
        raise UserError(f"cannot create the author-key secret {target}: {exc.strerror or exc}",
                        hint=f"set {SECRET_ENV} to a writable path") from None
    log.info("created a new author-key secret at %s (keep it to keep author keys stable)", target)


# Before a member id: no username can start with it (page text has no NUL), so a name never keys as an id.
_MEMBER = "\0member "


def comment_author_key(secret: bytes, member_id: int | None, username: str | None) -> str | None:
    """The key of a comment's author: by member id when known (the one identity every source shares),
    else by username; None when the source names neither."""
    if member_id is not None:
        return author_key(secret, f"{_MEMBER}{member_id}")
    return author_key(secret, username) if username else None


def author_key(secret: bytes, username: str) -> str:
    """The author's key: 32 hex characters. The username is NFC-normalised and stripped first,
    so the same name from a cp1252 and a UTF-8 page gives the same key."""
    name = unicodedata.normalize("NFC", username).strip()
    return hmac.new(secret, name.encode("utf-8"), hashlib.sha256).digest()[:KEY_BYTES].hex()
