"""`--images`: the full-size photo of each page, verified to decode, stored as `images/<id>.jpg`.

A photo counts only if Pillow can decode all of it (a truncated download or
an HTML error page served as "image/jpeg" is rejected). JPEG bytes are stored
as fetched; any other format is re-encoded to JPEG so every file matches its
name. The file name comes from the item id (an int), never from the page.

Decompression bombs: the dimensions are read from the header first and a photo
with more than `max_pixels` pixels is refused before any pixel is decoded
(the default, 25 million, is far above any AVA or Photo.net photo and well
under Pillow's own warning limit of 89 million). Pillow's DecompressionBombWarning
is turned into that refusal too, so nothing raw reaches stderr. The engine calls
`store_image` in a worker thread: a decode, however slow, never stalls the crawl.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from aesthetic.core.io import atomic_write_bytes

DEFAULT_MAX_PIXELS = 25_000_000
PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS  # Pillow warns past this and refuses past twice this
# warnings.catch_warnings swaps process-wide state: decodes in several threads take turns at it.
_WARNINGS_LOCK = threading.Lock()


class BadImage(ValueError):
    """The bytes are not a complete, decodable image (or one over the pixel limit)."""


def _open(body: bytes) -> Image.Image:
    """Image.open (header only), with Pillow's bomb warning raised as an error instead of printed."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(body))


def as_verified_jpeg(body: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """`body` if it is a complete JPEG; a JPEG re-encoding of any other decodable image; else BadImage."""
    try:
        with _open(body) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise BadImage(f"{width} x {height} pixels, over the limit of {max_pixels:,} (--max-pixels)")
            probe.verify()  # structure and checksums, without decoding pixels
        with _open(body) as image:
            image.load()    # decode every pixel: catches truncated files verify() lets through
            if image.format == "JPEG":
                return body
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=95)
            return out.getvalue()
    except BadImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        # Dimensions past Pillow's own limit, whatever the byte size: refused, never decoded.
        raise BadImage(f"a decompression bomb ({len(body)} bytes): {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"not a decodable image ({len(body)} bytes): {exc}") from None


def image_path(images_dir: Path, item_id: int) -> Path:
    return Path(images_dir) / f"{int(item_id)}.jpg"


def store_image(images_dir: Path, item_id: int, body: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Verify and write atomically; returns the path."""
    path = image_path(images_dir, item_id)
    atomic_write_bytes(path, as_verified_jpeg(body, max_pixels))
    return path
