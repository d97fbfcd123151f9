"""Data cards: valid Hugging Face front matter, and numbers that only a build report can write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aesthetic.core.errors import UserError
from aesthetic.corpus.card import BEGIN, END, refresh_card, render_numbers, size_category
from tests.corpus.report_sample import make_report

CARDS = Path(__file__).resolve().parents[2] / "data_cards"
DATASETS = ("ava", "photonet")
SECTIONS = ("Motivation", "Composition", "Collection process", "Preprocessing, cleaning, labeling", "Uses",
            "Distribution", "Maintenance")


def _card(dataset: str) -> Path:
    return CARDS / f"{dataset}_comments.md"


def _front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?\n)---\n", text, re.DOTALL)
    assert match, "no front matter"
    return yaml.safe_load(match.group(1))


def _block(text: str) -> str:
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)]


@pytest.mark.parametrize("dataset", DATASETS)
def test_committed_card_has_hugging_face_front_matter(dataset: str) -> None:
    meta = _front_matter(_card(dataset).read_text(encoding="utf-8"))
    assert meta["pretty_name"]
    assert meta["license"] == "other" and meta["license_name"]
    assert {"image-classification", "text-classification"} <= set(meta["task_categories"])
    assert len(meta["size_categories"]) == 1
    (config,) = meta["configs"]
    assert config["config_name"] == "default"
    assert {f["split"]: f["path"] for f in config["data_files"]} == {
        "train": f"{dataset}/train.parquet", "validation": f"{dataset}/val.parquet", "test": f"{dataset}/test.parquet",
    }


@pytest.mark.parametrize("dataset", DATASETS)
def test_committed_card_has_datasheet_sections_privacy_and_leakage(dataset: str) -> None:
    text = _card(dataset).read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS)
    assert "HMAC" in text and "Usernames are never stored" in text
    assert "--drop-score-mentions" in text and "copyright" in text


@pytest.mark.parametrize("dataset", DATASETS)
def test_committed_card_numbers_come_from_a_build_or_say_how_to_get_them(dataset: str) -> None:
    text = _card(dataset).read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    block = _block(text)
    if "Not yet built here; run:" in block:
        assert f"aesthetic-build-splits {dataset} " in block and f"--card data_cards/{dataset}_comments.md" in block
    else:
        assert "Written by `aesthetic-build-splits`" in block


@pytest.mark.parametrize("dataset", DATASETS)
def test_refresh_rewrites_only_the_numbers_and_size_category(tmp_path: Path, dataset: str) -> None:
    original = _card(dataset).read_text(encoding="utf-8")
    card = tmp_path / "README.md"
    card.write_text(original, encoding="utf-8")
    report = make_report(dataset=dataset)
    refresh_card(card, report)
    text = card.read_text(encoding="utf-8")
    assert _front_matter(text)["size_categories"] == ["n<1K"]
    assert _block(text) == "\n" + render_numbers(report) + "\n"
    # Outside the block and size_categories the hand-written card is untouched.
    strip = lambda t: re.sub(r"size_categories:\n- .*\n", "", t.replace(_block(t), ""))  # noqa: E731
    assert strip(text) == strip(original)
    assert _front_matter(text)["configs"] == _front_matter(original)["configs"]


def test_refresh_is_idempotent_and_replaces_old_numbers(tmp_path: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text(_card("ava").read_text(encoding="utf-8"), encoding="utf-8")
    refresh_card(card, make_report())
    once = card.read_text(encoding="utf-8")
    refresh_card(card, make_report())
    assert card.read_text(encoding="utf-8") == once
    bigger = make_report(splits={"train": 206_336, "val": 10_860, "test": 17_380})
    refresh_card(card, bigger)
    text = card.read_text(encoding="utf-8")
    assert "**234,576 images**" in text and "**6 images**" not in text
    assert _front_matter(text)["size_categories"] == ["100K<n<1M"]
    assert text.count(BEGIN) == 1 and "Not yet built" not in text


def test_rendered_numbers_carry_funnel_splits_rules_leakage_and_inputs() -> None:
    block = render_numbers(make_report())
    assert "| with at least one usable comment | 6 |" in block
    assert "| train | 7 | 3 | 206,336 |" in block
    assert "| val | 1 | 1 | – |" in block
    assert "| `useless` | fewer than two word tokens | 9 |" in block
    assert "2 comments in 1 images state a score; they were kept" in block
    assert "Partition: `official-list`: test = available ids of generic_test.jpgl" in block
    assert "The paper's own numbers (the paper's, not ours): usable_images 223,716." in block
    assert "| index | `AVA.txt` | `aaaaaaaaaaaaaaaa…` |" in block
    assert "/data/ava" not in block  # the builder's own paths stay private
    piped = make_report(rules=[{"name": "useless", "description": "only digits |\n punctuation", "hits": 1}])
    assert "| `useless` | only digits \\| punctuation | 1 |" in render_numbers(piped)
    dropped = make_report(label_leakage={"score_mentions": 2, "images_with_score_mentions": 1, "dropped": True})
    assert "they were dropped (`--drop-score-mentions`)" in render_numbers(dropped)



def test_rendered_numbers_carry_the_index_notes_and_empty_splits() -> None:
    report = make_report(dataset="photonet", empty_splits=["val"], index={
        "layout": "datta-photonet", "lines": 20278, "mean_only_lines_left_out": 1173,
        "counts_not_adding_up_to_n_ratings": 2780, "n_votes": "n_votes is the sum of the seven counts"})
    block = render_numbers(report)
    assert ("Index file: `datta-photonet`, 20,278 lines; counts not adding up to n ratings: 2,780; mean only lines "
            "left out: 1,173. n_votes is the sum of the seven counts.") in block
    assert "**Empty splits: val.**" in block
    assert "Index file" not in render_numbers(make_report()) and "Empty splits" not in render_numbers(make_report())


def test_rendered_numbers_show_each_split_under_each_period() -> None:
    block = render_numbers(make_report())
    assert "these files hold `all`): 30 read were written during voting, 10 after the results, 0 do not say" in block
    assert "| split | images all | comments all | images during voting | comments during voting |" in block
    assert "| train | 3 | 20 | 3 | 15 | 2 | 5 |" in block
    assert "Comments stating a score, by period: all 2, during voting 2, after the results 0." in block
    unflagged = make_report(comments_period={"chosen": "all", "read": {"during": 0, "after": 0, "unknown": 40},
                                             "splits": {"all": make_report()["comments_period"]["splits"]["all"],
                                                        "during": None, "after": None},
                                             "score_mentions": {"all": 2, "during": None, "after": None}})
    block = render_numbers(unflagged)
    assert "| test | 2 | 7 | – | – | – | – |" in block and "during voting –" in block


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (13_583, "10K<n<100K"), (223_716, "100K<n<1M"),
     (3_000_000, "1M<n<10M")],
)
def test_size_category_buckets(n: int, bucket: str) -> None:
    assert size_category(n) == bucket


CARD_OK = "---\npretty_name: x\nsize_categories:\n- n<1K\n---\n# X\n" + BEGIN + "\nold\n" + END + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter\n" + BEGIN + END, "YAML front matter"),
        ("---\npretty_name: x\nsize_categories:\n- n<1K\n---\n# X\nno markers\n", "exactly one"),
        (CARD_OK.replace(END, ""), "exactly one"),
        (CARD_OK + BEGIN + "\n" + END + "\n", "exactly one"),
        (CARD_OK.replace("size_categories:\n- n<1K\n", ""), "no `size_categories:`"),
    ],
)
def test_malformed_card_is_a_user_error_and_left_untouched(tmp_path: Path, text: str, message: str) -> None:
    card = tmp_path / "card.md"
    card.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        refresh_card(card, make_report())
    assert card.read_text(encoding="utf-8") == text


def test_incomplete_report_names_every_missing_key(tmp_path: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text(CARD_OK, encoding="utf-8")
    report = make_report(rules=[{"name": "html", "hits": 3}])
    del report["splits"]["val"], report["comments"]
    with pytest.raises(UserError, match=r"lacks splits\.val, comments\.raw, comments\.usable, rules\[0\]\.description"):
        refresh_card(card, report)
    assert card.read_text(encoding="utf-8") == CARD_OK
    with pytest.raises(UserError, match="expected a JSON object"):
        refresh_card(card, [])  # type: ignore[arg-type]


def test_missing_card_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read the data card"):
        refresh_card(tmp_path / "nope.md", make_report())
    binary = tmp_path / "card.md"
    binary.write_bytes(b"---\xff\xfe\n")
    with pytest.raises(UserError, match="cannot read the data card"):
        refresh_card(binary, make_report())
