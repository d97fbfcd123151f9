"""croissant.json: files with real hashes, fields that match the split schema, RAI fields from the report."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.core.schemas import DATASET_FIELDS, SPLITS, split_schema
from aesthetic.corpus.croissant import FIELD_DESCRIPTIONS, write_croissant
from tests.corpus.report_sample import make_report, write_splits

# mlcroissant's own dependencies (rdflib, pandas) warn about their deprecations; not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The inplace keyword"),
]

RAI_KEYS = (
    "rai:dataCollection", "rai:dataCollectionType", "rai:personalSensitiveInformation", "rai:dataBiases",
    "rai:dataLimitations", "rai:dataPreprocessingProtocol", "rai:dataUseCases", "rai:annotationsPerItem",
)


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict]:
    report = make_report()
    write_splits(tmp_path / "ava", report)
    return tmp_path / "ava", report


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: validation must work offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_distribution_lists_each_split_with_its_sha256(built) -> None:
    dataset_dir, report = built
    path = write_croissant(dataset_dir, report)
    assert path == dataset_dir / "croissant.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["conformsTo"] == ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
    files = {f["contentUrl"]: f for f in doc["distribution"]}
    assert sorted(files) == sorted(f"{s}.parquet" for s in SPLITS)
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((dataset_dir / name).read_bytes()).hexdigest()
        assert entry["encodingFormat"] == "application/x-parquet"


@pytest.mark.parametrize("dataset", sorted(DATASET_FIELDS))
def test_record_sets_match_the_split_schema(tmp_path: Path, dataset: str) -> None:
    report = make_report(dataset=dataset)
    write_splits(tmp_path / dataset, report)
    doc = json.loads(write_croissant(tmp_path / dataset, report).read_text(encoding="utf-8"))
    assert [rs["name"] for rs in doc["recordSet"]] == list(SPLITS)
    for record_set in doc["recordSet"]:
        fields = {f["name"]: f for f in record_set["field"]}
        assert list(fields) == split_schema(dataset).names
        assert fields["image_id"]["dataType"] == "sc:Integer"
        assert fields["mean_score"]["dataType"] == "sc:Float"
        assert fields["label_high"]["dataType"] == "sc:Boolean"
        assert fields["comments"]["dataType"] == "sc:Text" and fields["comments"]["isArray"] is True
        assert "isArray" not in fields["n_votes"]
        assert fields["votes"]["source"]["fileObject"]["@id"] == f"{record_set['name']}.parquet"


def test_every_schema_field_has_a_description() -> None:
    names = {f.name for dataset in DATASET_FIELDS for f in split_schema(dataset)}
    assert names <= set(FIELD_DESCRIPTIONS)


def test_rai_fields_carry_the_reports_and_the_files_numbers(built) -> None:
    dataset_dir, report = built
    doc = json.loads(write_croissant(dataset_dir, report).read_text(encoding="utf-8"))
    for key in RAI_KEYS:
        assert doc[key], key
    assert any("HMAC" in text for text in doc["rai:personalSensitiveInformation"])
    assert any("2 comments state a score" in text for text in doc["rai:dataLimitations"])
    protocol = doc["rai:dataPreprocessingProtocol"]
    assert protocol[0] == "Cleaning rule 1, html: HTML entities and tags to text (5 hits)."
    assert any("6 of 11 available images have one; 6 are in the split files" in text for text in protocol)
    assert "mean above 5.0 = high" in doc["rai:dataAnnotationProtocol"][0]
    # 6 images in the sample files; the vote counts come from the files themselves.
    assert "over the 6 images" in doc["rai:annotationsPerItem"]
    assert "2.0 usable comments per image" in doc["rai:annotationsPerItem"]


def test_protocol_states_the_builds_threshold_and_what_the_files_hold(built) -> None:
    dataset_dir, report = built
    report["options"]["threshold"] = 6.5
    report["splits"]["train"] -= 1  # one image with a usable comment but no vote: not in the files
    write_splits(dataset_dir, report)
    doc = json.loads(write_croissant(dataset_dir, report).read_text(encoding="utf-8"))
    assert "mean above 6.5 = high" in doc["rai:dataAnnotationProtocol"][0]
    assert any("6 of 11 available images have one; 5 are in the split files" in text
               for text in doc["rai:dataPreprocessingProtocol"])


def test_output_is_deterministic(built) -> None:
    dataset_dir, report = built
    first = write_croissant(dataset_dir, report).read_bytes()
    second = write_croissant(dataset_dir, report).read_bytes()
    assert first == second
    assert first.decode() == json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_missing_split_file_is_a_user_error(built) -> None:
    dataset_dir, report = built
    (dataset_dir / "val.parquet").unlink()
    with pytest.raises(UserError, match="val.parquet"):
        write_croissant(dataset_dir, report)


def test_incomplete_report_is_a_user_error(built) -> None:
    dataset_dir, report = built
    del report["label_leakage"]["dropped"]
    del report["funnel"]
    with pytest.raises(UserError, match=r"funnel\.in_index.*label_leakage\.dropped"):
        write_croissant(dataset_dir, report)
    with pytest.raises(UserError, match="unknown dataset 'flickr'"):
        write_croissant(dataset_dir, make_report(dataset="flickr"))


def test_mlcroissant_validates_and_reads_the_records_offline(built, no_network) -> None:
    import mlcroissant as mlc

    dataset_dir, report = built
    dataset = mlc.Dataset(jsonld=write_croissant(dataset_dir, report))
    issues = dataset.metadata.ctx.issues
    assert not issues.errors
    # datePublished is left out on purpose: the file has no timestamps so that builds are reproducible.
    assert all("datePublished" in warning for warning in issues.warnings)
    for split in SPLITS:
        records = list(dataset.records(record_set=split))
        assert len(records) == report["splits"][split]
        assert all(r[f"{split}/split"] == split.encode() for r in records)
    assert records[0]["test/votes"] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_mlcroissant_rejects_a_file_changed_after_the_build(built, no_network) -> None:
    import mlcroissant as mlc

    dataset_dir, report = built
    path = write_croissant(dataset_dir, report)
    write_splits(dataset_dir, make_report(splits={"train": 2, "val": 1, "test": 2}))
    with pytest.raises(Exception, match=r"Download\(train\.parquet\)") as caught:
        list(mlc.Dataset(jsonld=path).records(record_set="train"))
    causes, err = [], caught.value
    while err is not None:
        causes.append(str(err))
        err = err.__cause__ or err.__context__
    assert any("Hash of downloaded file" in text for text in causes), causes
