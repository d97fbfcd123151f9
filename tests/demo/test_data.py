"""The demo's generated world: deterministic, in AVA's format, and learnable from text and look."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

pytest.importorskip("skimage", reason="scikit-image is the demo extra (make setup installs it)")

from demo.data import (  # noqa: E402
    N_BINS,
    TIER_PHRASES,
    USELESS,
    ava_txt,
    generate_world,
    render_photo,
    write_ava_dir,
)


@pytest.fixture(scope="module")
def world():
    return generate_world(200, seed=3)


def test_same_seed_same_world_and_photos(world):
    again = generate_world(200, seed=3)
    assert again == world
    assert render_photo(world.items[0], seed=3) == render_photo(again.items[0], seed=3)
    assert generate_world(200, seed=4) != world


def test_an_items_content_does_not_depend_on_the_world_size(world):
    bigger = {item.image_id: item for item in generate_world(400, seed=3).items}
    shared = [item for item in world.items if item.image_id in bigger]
    # Ids are drawn per world size, but any id both worlds hold has the same content.
    assert all(bigger[item.image_id] == item for item in shared)


def test_scores_spread_over_both_labels(world):
    means = np.array([item.mean_score for item in world.items])
    assert means.min() < 4.5 and means.max() > 6.5
    assert 0.3 < (means > 5).mean() < 0.8
    assert all(len(item.votes) == N_BINS and sum(item.votes) >= 60 for item in world.items)


def test_comment_wording_follows_the_score(world):
    def tier_words(tier: int) -> set[str]:
        return {word for phrase in TIER_PHRASES[tier] for word in phrase.split()}

    only_low = tier_words(0) - tier_words(3)
    only_high = tier_words(3) - tier_words(0)

    def polarity(item) -> float:
        words = " ".join(item.comments).replace(",", " ").replace(".", " ").split()
        return sum(w in only_high for w in words) - sum(w in only_low for w in words)

    talking = [item for item in world.items if item.comments]
    rho = spearmanr([polarity(i) for i in talking], [i.mean_score for i in talking]).statistic
    assert rho > 0.7


def test_the_cleaning_funnel_has_something_to_remove(world):
    no_comment = [item for item in world.items if not item.comments]
    only_useless = [item for item in world.items if item.comments and set(item.comments) <= set(USELESS)]
    some_useless = [item for item in world.items if set(item.comments) & set(USELESS)]
    assert no_comment and only_useless and len(some_useless) > len(only_useless)


def _brightness_and_sharpness(jpeg: bytes) -> tuple[float, float]:
    """Mean grey level, and mid-frequency (band-pass) energy relative to contrast: blur lowers it, pixel noise barely."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=float) / 255
    band = gaussian_filter(grey, 1.5) - gaussian_filter(grey, 4.0)
    return grey.mean(), band.std() / max(grey.std(), 1e-6)


def test_photos_decode_and_their_look_follows_the_score(world):
    item = world.items[0]
    # The same crop of the same photo, from best to worst quality: darker and softer each step.
    looks = [_brightness_and_sharpness(render_photo(replace(item, quality=q), seed=world.seed)) for q in (1.0, 0.6, 0.3, 0.0)]
    brightness, sharpness = zip(*looks)
    assert list(brightness) == sorted(brightness, reverse=True)
    assert sharpness[0] > sharpness[1] > sharpness[2]
    # Across the world (different photos and crops) the look still tracks the score.
    items = world.items[:60]
    rho = spearmanr([_brightness_and_sharpness(render_photo(i, seed=world.seed))[0] for i in items], [i.mean_score for i in items])
    assert rho.statistic > 0.3
    image = Image.open(io.BytesIO(render_photo(item, seed=world.seed)))
    assert image.format == "JPEG" and image.mode == "RGB" and max(image.size) == 192


def test_ava_txt_has_the_official_layout(world, tmp_path):
    folder = write_ava_dir(world, tmp_path / "ava")
    lines = (folder / "AVA.txt").read_text().splitlines()
    assert lines == ava_txt(world.items).splitlines()
    assert len(lines) == len(world.items)
    for number, (line, item) in enumerate(zip(lines, world.items), start=1):
        fields = [int(f) for f in line.split(" ")]
        assert len(fields) == 15
        assert fields[0] == number and fields[1] == item.image_id
        assert tuple(fields[2:12]) == item.votes
        assert tuple(fields[12:14]) == item.semantic_tags and fields[14] == item.challenge_id
    test = [int(x) for x in (folder / "aesthetics_image_lists" / "generic_test.jpgl").read_text().split()]
    assert set(test) == world.test_ids <= {item.image_id for item in world.items}
    assert 0.1 < len(test) / len(world.items) < 0.3


def test_too_small_a_world_is_refused():
    with pytest.raises(ValueError, match="at least 5"):
        generate_world(2)
