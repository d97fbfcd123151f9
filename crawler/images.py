"""`--images`: the full-size photo of each page, verified to decode, stored as `images/<id>.jpg`.

A photo counts only if Pillow can decode all of it (a truncated download or
an HTML error page served as "image/jpeg" is rejected). JPEG bytes are stored
as fetched; any other format is re-encoded to JPEG so every file matches its
name. The file name comes from the item id (an int), never from the page.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from aesthetic.core.io import atomic_write_bytes


class BadImage(ValueError):
    """The bytes are not a complete, decodable image."""


def as_verified_jpeg(body: bytes) -> bytes:
    """`body` if it is a complete JPEG; a JPEG re-encoding of any other decodable image; else BadImage."""
    try:
        with Image.open(io.BytesIO(body)) as probe:
            probe.verify()  # structure and checksums, without decoding pixels
        with Image.open(io.BytesIO(body)) as image:
            image.load()    # decode every pixel: catches truncated files verify() lets through
            if image.format == "JPEG":
                return body
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=95)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # A bomb (dimensions far past Pillow's pixel limit, whatever the byte size) is refused, not decoded.
        raise BadImage(f"not a decodable image ({len(body)} bytes): {exc}") from None


def image_path(images_dir: Path, item_id: int) -> Path:
    return Path(images_dir) / f"{int(item_id)}.jpg"


def store_image(images_dir: Path, item_id: int, body: bytes) -> Path:
    """Verify and write atomically; returns the path."""
    path = image_path(images_dir, item_id)
    atomic_write_bytes(path, as_verified_jpeg(body))
    return path
