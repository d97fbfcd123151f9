"""The paper's tables as data: every row keyed by its whole configuration, numbers only where a source gives them."""

from __future__ import annotations

import pytest

from aesthetic.benchmark.paper import (
    KEY_FIELDS,
    METRICS,
    PAPER_TABLES,
    QUOTED_ACCURACY,
    TRANSCRIPTION,
    RowKey,
    paper_row,
    paper_tables,
)

DEFAULT = RowKey("mracnn", "vgg16", "mfb", 3, 1)
# The rows of the transcription (all six columns, the paper's print: Acc %), and the quoted vision accuracies.
TRANSCRIBED = {
    RowKey("vision", "vgg16", vision_head="full"): (78.43, 0.6493, 0.6596, 0.4299, 0.5537, 0.048),
    RowKey("text"): (81.85, 0.7786, 0.7851, 0.3895, 0.4887, 0.0447),
    RowKey("fusion", "vgg16", "mfb", vision_head="full"): (84.94, 0.8233, 0.8367, 0.3345, 0.4274, 0.0377),
    RowKey("mracnn", "vgg16", "concat", 3, 1): (85.32, 0.8260, 0.8388, 0.3316, 0.4247, 0.0387),
    RowKey("mracnn", "vgg16", "sum", 3, 1): (85.36, 0.8265, 0.8399, 0.3308, 0.4214, 0.0388),
    RowKey("mracnn", "vgg16", "prod", 3, 1): (85.26, 0.8270, 0.8403, 0.3302, 0.4229, 0.0382),
    DEFAULT: (85.68, 0.8310, 0.8431, 0.3271, 0.4193, 0.0371),
    RowKey("mracnn", "alexnet", "mfb", 3, 1): (84.46, 0.8202, 0.8314, 0.3377, 0.4331, 0.0381),
    RowKey("mracnn", "inception_v3", "mfb", 3, 1): (85.71, 0.8318, 0.8434, 0.3252, 0.4190, 0.0369),
}
QUOTED = {RowKey("vision", "alexnet", vision_head="full"): 76.37,
          RowKey("vision", "inception_v3", vision_head="full"): 79.43}


def _all_rows():
    return [row for table in PAPER_TABLES.values() for row in table.rows]


def test_the_key_fields_are_the_settings_each_registered_model_uses() -> None:
    from aesthetic.benchmark.config import ModelConfig
    from aesthetic.benchmark.models import MODELS, build_model

    assert set(KEY_FIELDS) == set(MODELS)
    for name, spec in MODELS.items():
        used = set(KEY_FIELDS[name])
        assert ("trunk" in used) == spec.uses_images, name
        assert ("fusion" in used) == (spec.uses_images and spec.uses_text), name
        heads = {spec.whole_network(ModelConfig(name=name, vision_head=head)) for head in ("full", "pooled")}
        assert ("vision_head" in used) == (len(heads) == 2), name
        tiny = ModelConfig(name=name, trunk="mobilenet_v2", lstm_hidden=4, attn_hidden=4, mfb_o=4, text_maps=2,
                           vector_dim=4, vocab_size=8, max_tokens=8)
        has_attention = hasattr(build_model(tiny, pretrained=False), "attention")
        assert ("glimpses" in used and "lstm_layers" in used) == has_attention, name


def test_a_key_holds_exactly_the_fields_its_model_uses() -> None:
    with pytest.raises(ValueError, match="a text row has no trunk"):
        RowKey("text", trunk="vgg16")
    with pytest.raises(ValueError, match="a vision row has vision_head"):
        RowKey("vision", "vgg16")
    assert DEFAULT.slug() == "mracnn-vgg16-mfb-T3-L1" and DEFAULT.describe() == "mracnn vgg16 mfb T=3 L=1"
    assert DEFAULT.settings() == {"model.name": "mracnn", "model.trunk": "vgg16", "model.fusion": "mfb",
                                  "model.glimpses": 3, "model.lstm_layers": 1}


def test_every_table_and_its_rows() -> None:
    assert list(PAPER_TABLES) == ["I", "II", "III", "IV", "Photo.net"]
    keys = {name: [row.key for row in table.rows] for name, table in PAPER_TABLES.items()}
    assert keys["I"] == [RowKey("mracnn", "vgg16", "mfb", t, layers) for t, layers in
                         ((1, 1), (3, 1), (5, 1), (3, 2), (3, 3))]
    assert keys["II"] == [RowKey("vision", t, vision_head="full") for t in ("alexnet", "vgg16", "inception_v3")] + [
        RowKey("mracnn", t, "mfb", 3, 1) for t in ("alexnet", "vgg16", "inception_v3")]
    assert keys["III"] == [RowKey("vision", "vgg16", vision_head="full"), RowKey("text"),
                           RowKey("fusion", "vgg16", "mfb", vision_head="full")] + [
        RowKey("mracnn", "vgg16", f, 3, 1) for f in ("concat", "sum", "prod", "mfb")]
    assert keys["IV"] == keys["Photo.net"] == [DEFAULT]
    assert all(row.table == name for name, table in PAPER_TABLES.items() for row in table.rows)
    assert all(table.reading for table in PAPER_TABLES.values())


def test_numbers_are_the_sources_and_nothing_else() -> None:
    for row in _all_rows():
        numbers = [getattr(row, name) for name in METRICS]
        if row.dataset == "photonet":
            assert (100 * numbers[0], *numbers[1:]) == pytest.approx((78.91, 0.5709, 0.5902, 0.3636, 0.4589, 0.0622))
            assert row.source == TRANSCRIPTION
        elif row.key in TRANSCRIBED:
            assert (100 * numbers[0], *numbers[1:]) == pytest.approx(TRANSCRIBED[row.key]), row.label
            assert row.source == TRANSCRIPTION
        elif row.key in QUOTED:
            assert 100 * numbers[0] == pytest.approx(QUOTED[row.key]) and numbers[1:] == [None] * 5
            assert row.source == QUOTED_ACCURACY
        else:                      # Table I's rows but the default: no source gives them
            assert row.table == "I" and numbers == [None] * 6 and row.source is None and not row.transcribed


def test_compare_paper_matches_the_whole_key() -> None:
    assert paper_row("ava", DEFAULT).accuracy == pytest.approx(0.8568)
    t1 = paper_row("ava", RowKey("mracnn", "vgg16", "mfb", 1, 1))
    assert (t1.table, t1.label, t1.transcribed) == ("I", "T = 1, 1 LSTM layer", False)
    assert paper_row("ava", RowKey("mracnn", "vgg16", "mfb", 3, 2)).label == "T = 3, 2 LSTM layers"
    assert paper_row("ava", RowKey("vision", "vgg16", vision_head="pooled")) is None     # not the network it names
    assert paper_row("ava", RowKey("fusion", "vgg16", "concat", vision_head="full")) is None
    assert paper_row("ava", RowKey("mracnn", "mobilenet_v2", "mfb", 3, 1)) is None
    assert paper_row("ava", RowKey("mracnn", "alexnet", "mfb", 1, 1)) is None
    assert paper_row("photonet", DEFAULT).accuracy == pytest.approx(0.7891)
    assert paper_row("photonet", RowKey("vision", "vgg16", vision_head="full")) is None


def test_tables_for_a_dataset() -> None:
    assert [t.name for t in paper_tables(["I", "IV"], "ava")] == ["I", "IV"]
    assert [t.name for t in paper_tables(["IV"], "photonet")] == ["Photo.net"]
    with pytest.raises(ValueError, match="the paper reports Table\\(s\\) I, III on AVA, not on photonet"):
        paper_tables(["I", "III", "IV"], "photonet")
