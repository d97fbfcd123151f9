"""The demo's generated world: items with vote histograms, comments and photos.

Everything here is made by the project, deterministically from a seed, so that
`make demo` needs no downloaded data and nothing from the real DPChallenge site:

- each item has a hidden quality q in [0, 1]; its voters score around
  3.5 + 4 q, so mean scores spread over 3.5..7.5 and both labels occur;
- its comments come from a small phrase bank whose wording depends on the
  score tier (mostly the item's own tier, sometimes a neighbour's), so the
  text carries signal without giving the answer away; a few one-word or
  numeric comments, duplicates and score mentions give the corpus cleaning
  funnel something to remove or flag;
- its photo is a crop of one of the public-domain / CC0 photos that ship
  inside the scikit-image wheel, blurred, darkened, flattened and made noisy
  in proportion to 1 - q, so the look carries the score too.

An `AVA.txt` in the real column layout and an `aesthetics_image_lists/`
folder with a `generic_test.jpgl` (~20 % of the ids) make the world look like
an AVA distribution to `aesthetic-build-splits`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

N_BINS = 10
LOW_MEAN, HIGH_MEAN = 3.5, 7.5
TEST_FRACTION = 0.2

# Photos bundled inside the scikit-image wheel (no pooch download), each public
# domain or CC0 per its skimage.data docstring. Grey ones are made RGB.
SOURCE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "camera", "coins", "retina")

# Score tiers, low to high: the wording a commenter reaches for.
TIER_PHRASES: tuple[tuple[str, ...], ...] = (
    (
        "this is too blurry and dark for me",
        "the focus is soft and the whole image looks noisy",
        "badly underexposed, hard to see the subject",
        "needs much more light and a sharper focus",
        "grainy and muddy, the details are lost",
        "out of focus and too dark to enjoy",
        "the noise and blur ruin this one",
        "poor exposure and no clear subject",
    ),
    (
        "the idea is fine but the shot is a bit soft",
        "lighting is rather flat and dull here",
        "a little dark, could use more contrast",
        "decent attempt, but the focus is not quite there",
        "the colors look washed and the image lacks punch",
        "average shot, nothing really stands out",
        "ok subject but the exposure is off",
        "somewhat grainy, try a lower iso next time",
    ),
    (
        "good shot with pleasant light",
        "nice colors and a clean composition",
        "solid exposure, the subject reads well",
        "i like the detail, quite sharp",
        "well done, a good balance of tones",
        "nice work, the framing is good",
        "good contrast and a clear subject",
        "pleasing image with fine detail",
    ),
    (
        "stunning image, beautiful light and perfect focus",
        "wonderful colors and brilliant sharp detail",
        "excellent work, superb exposure throughout",
        "gorgeous capture, crisp and vibrant",
        "a masterpiece of light and clarity",
        "outstanding shot, amazing detail and color",
        "superb composition, absolutely beautiful",
        "fantastic clarity, the light is magnificent",
    ),
)
TIER_EDGES = (4.25, 5.0, 6.25)  # mean scores where the wording moves up a tier
OPENERS = ("", "", "", "well, ", "honestly, ", "i think ", "hmm, ", "to me ")
CLOSERS = (".", ".", "!", ". good luck.", ". keep shooting.", ", thanks for sharing.", ". best of luck in the challenge.")
# What the corpus cleaner must drop: one word, or nothing but digits and punctuation.
USELESS = ("nice!", "7", "6/10", "wow", "8", "cool", "+1", "5/10", "ok", "great")


@dataclass(frozen=True)
class DemoItem:
    """One generated photo page: what AVA.txt knows plus what the site shows."""

    image_id: int
    votes: tuple[int, ...]  # counts of scores 1..10
    semantic_tags: tuple[int, int]
    challenge_id: int
    comments: tuple[str, ...]  # page order, raw as posted
    photo: str  # the skimage.data photo it was cut from
    quality: float  # hidden, in [0, 1]; drives the score, the wording and the look

    @property
    def mean_score(self) -> float:
        counts = np.asarray(self.votes, dtype=float)
        return float((counts * np.arange(1, N_BINS + 1)).sum() / counts.sum())


@dataclass(frozen=True)
class DemoWorld:
    """All items, in id order, plus which of them the official-style test list names."""

    items: tuple[DemoItem, ...]
    test_ids: frozenset[int]
    seed: int


def _rng(seed: int, *key: int) -> np.random.Generator:
    """A generator per (seed, key): an item's content does not depend on the others."""
    return np.random.default_rng([seed, *key])


def _votes(rng: np.random.Generator, quality: float) -> tuple[int, ...]:
    centre = LOW_MEAN + (HIGH_MEAN - LOW_MEAN) * quality
    n_voters = int(rng.integers(60, 220))
    scores = np.clip(np.rint(rng.normal(centre, 1.3, n_voters)), 1, N_BINS).astype(int)
    return tuple(int(c) for c in np.bincount(scores, minlength=N_BINS + 1)[1:])


def tier_of(mean_score: float) -> int:
    """Which phrase tier a mean score talks in (0 = worst .. 3 = best); one edge sits on the label threshold 5."""
    return int(np.searchsorted(TIER_EDGES, mean_score, side="left"))  # 5.0 itself is "low"


def _comment(rng: np.random.Generator, tier: int) -> str:
    # Mostly the item's own tier; a quarter of comments drift to a neighbour, so text is a signal, not the label.
    if rng.random() < 0.25:
        tier = int(np.clip(tier + rng.choice((-1, 1)), 0, len(TIER_PHRASES) - 1))
    body = str(rng.choice(TIER_PHRASES[tier]))
    return f"{rng.choice(OPENERS)}{body}{rng.choice(CLOSERS)}"


def _comments(rng: np.random.Generator, image_id: int, mean_score: float) -> tuple[str, ...]:
    kind = rng.random()
    if kind < 0.04:
        return ()  # no comment at all
    if kind < 0.08:
        return tuple(str(c) for c in rng.choice(USELESS, size=int(rng.integers(1, 3))))  # only useless ones
    tier = tier_of(mean_score)
    comments = [_comment(rng, tier) for _ in range(int(rng.integers(2, 7)))]
    if rng.random() < 0.3:
        comments.insert(int(rng.integers(0, len(comments) + 1)), str(rng.choice(USELESS)))
    if rng.random() < 0.05:
        comments.append(comments[0])  # a double post
    if rng.random() < 0.03:
        comments.append(f"i gave this a {round(mean_score)}, {rng.choice(TIER_PHRASES[tier])}")
    if rng.random() < 0.05:
        # A reply quoting the first comment, as DPChallenge members do; the cleaner must strip the quote.
        quote = f"Originally posted by {author_name(image_id, 0)}:\n{comments[0]}"
        comments.append(f"{quote}\n{rng.choice(('agreed', 'i see it differently'))}, {_comment(rng, tier)}")
    return tuple(comments)


def author_name(image_id: int, position: int) -> str:
    """The invented member name shown beside comment `position` of an item (the site and quotes agree)."""
    return f"member{(image_id * 7 + position * 13) % 997:03d}"


def generate_world(n_items: int, seed: int = 0) -> DemoWorld:
    """`n_items` items with distinct AVA-like ids; the same arguments give the same world."""
    if n_items < 5:
        raise ValueError(f"the demo needs at least 5 items, got {n_items}")
    rng = _rng(seed)
    ids = np.sort(rng.choice(np.arange(100_000, 999_999), size=n_items, replace=False))
    items = []
    for image_id in ids.tolist():
        item_rng = _rng(seed, image_id)
        quality = float(item_rng.random())
        votes = _votes(item_rng, quality)
        mean = float((np.asarray(votes) * np.arange(1, N_BINS + 1)).sum() / sum(votes))
        items.append(
            DemoItem(
                image_id=image_id,
                votes=votes,
                semantic_tags=(int(item_rng.integers(0, 67)), int(item_rng.integers(0, 67))),
                challenge_id=int(item_rng.integers(1, 1400)),
                comments=_comments(item_rng, image_id, mean),
                photo=SOURCE_PHOTOS[int(item_rng.integers(0, len(SOURCE_PHOTOS)))],
                quality=quality,
            )
        )
    test_ids = frozenset(i for i in ids.tolist() if _unit_hash(seed, i) < TEST_FRACTION)
    return DemoWorld(items=tuple(items), test_ids=test_ids, seed=seed)


def _unit_hash(seed: int, image_id: int) -> float:
    digest = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@lru_cache(maxsize=None)
def source_photo(name: str) -> np.ndarray:
    """An RGB float32 array in [0, 1] of a photo bundled with scikit-image (no download)."""
    from skimage import data as skdata  # the demo extra; run.py checks it is installed first

    image = np.asarray(getattr(skdata, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.float32) / 255.0


def render_photo(item: DemoItem, seed: int = 0, long_side: int = 192) -> bytes:
    """The item's JPEG: a crop of its source photo, degraded in proportion to 1 - quality."""
    rng = _rng(seed, item.image_id, 1)
    src = source_photo(item.photo)
    h, w = src.shape[:2]
    frac = rng.uniform(0.55, 0.9)
    aspect = float(rng.choice((0.75, 1.0, 4 / 3)))  # width / height
    ch = int(min(h, w / aspect) * frac)
    cw = int(ch * aspect)
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = src[top : top + ch, left : left + cw]
    scale = long_side / max(ch, cw)
    size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
    pixels = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.BILINEAR), np.float32) / 255
    pixels = degrade(pixels, 1.0 - item.quality, rng)
    out = io.BytesIO()
    Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).save(out, format="JPEG", quality=88)
    return out.getvalue()


def degrade(pixels: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Blur, darken, flatten, desaturate and add noise, each growing with `amount` in [0, 1]."""
    sigma = 3.0 * amount**1.2
    if sigma > 0.2:
        pixels = gaussian_filter(pixels, sigma=(sigma, sigma, 0))
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * (1.0 - 0.6 * amount)  # saturation
    mid = pixels.mean()
    pixels = mid + (pixels - mid) * (1.0 - 0.45 * amount)  # contrast
    pixels = pixels * (1.0 - 0.55 * amount)  # exposure
    pixels = pixels + rng.normal(0.0, 0.09 * amount, pixels.shape).astype(np.float32)
    return np.clip(pixels, 0.0, 1.0)


def ava_txt(items: Sequence[DemoItem]) -> str:
    """AVA.txt in the official layout: index, id, ten vote counts, tag 1, tag 2, challenge."""
    lines = []
    for index, item in enumerate(items, start=1):
        fields = [index, item.image_id, *item.votes, *item.semantic_tags, item.challenge_id]
        lines.append(" ".join(str(f) for f in fields))
    return "\n".join(lines) + "\n"


def write_ava_dir(world: DemoWorld, folder: Path) -> Path:
    """Write `AVA.txt` and `aesthetics_image_lists/generic_test.jpgl` under `folder`; return it."""
    folder = Path(folder)
    lists = folder / "aesthetics_image_lists"
    lists.mkdir(parents=True, exist_ok=True)
    (folder / "AVA.txt").write_text(ava_txt(world.items), encoding="ascii")
    test = "".join(f"{i}\n" for i in sorted(world.test_ids))
    (lists / "generic_test.jpgl").write_text(test, encoding="ascii")
    return folder
