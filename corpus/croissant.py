"""Croissant (`croissant.json`) metadata beside the splits, with the Responsible-AI fields.

Croissant (MLCommons, JSON-LD on schema.org) is what dataset hubs and loaders
read to know a dataset's files, columns and provenance without opening it.
Every number here comes from the build report or from the split files
themselves (their sha256 and row statistics), and the output has no
timestamps and sorted keys, so the same build gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text, sha256_file
from aesthetic.core.schemas import DATASET_FIELDS, SPLITS, split_schema
from aesthetic.corpus.card import require_report_keys

CROISSANT_VERSION = "http://mlcommons.org/croissant/1.1"
RAI_VERSION = "http://mlcommons.org/croissant/RAI/1.0"
FILE_NAME = "croissant.json"

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# Arrow type test -> Croissant data type; list columns become `isArray` of their item type.
_DATA_TYPES: tuple[tuple[Callable[[pa.DataType], bool], str], ...] = (
    (pa.types.is_boolean, "sc:Boolean"),
    (pa.types.is_integer, "sc:Integer"),
    (pa.types.is_floating, "sc:Float"),
    (pa.types.is_string, "sc:Text"),
)

FIELD_DESCRIPTIONS: dict[str, str] = {
    "image_id": "The image's id on its source site (the AVA / Photo.net id).",
    "split": "train, val or test.",
    "votes": "Number of votes for each score, lowest score first.",
    "n_votes": "Total number of votes.",
    "mean_score": "Mean score of the vote histogram.",
    "std_score": "Standard deviation of the score under the vote histogram.",
    "label_high": "True when mean_score is above the build's threshold (options.threshold; 5 by default, the paper's).",
    "comments": "The image's usable user comments after cleaning, in page order.",
    "n_comments": "Number of usable comments.",
    "semantic_tags": "AVA semantic tag ids (0, meaning no tag, is dropped); see AVA's tags.txt.",
    "challenge_id": "The DPChallenge photo challenge the image was entered in; see AVA's challenges.txt.",
    "variance": "Column 5 of Datta's Photo.net release, as released: its README calls it the standard deviation "
                "of the ratings, but it is their variance (std_score squared, to the release's rounding).",
}

LICENSE = (
    "Other. The comments are user-generated text whose copyright stays with their authors; "
    "they are redistributed here only for non-commercial research, as the AVA / Photo.net ratings are. "
    "Scores and ids follow the terms of the original AVA and Photo.net datasets. "
    "The toolkit that built this file is MIT-licensed; that licence does not cover the data."
)

CITE_AS = (
    "@article{mracnn2020, author={Zhang, Xiaodan and Gao, Xinbo and Lu, Wen and He, Lihuo and Li, Jie}, "
    "title={Beyond Vision: A Multimodal Recurrent Attention Convolutional Neural Network for Unified Image "
    "Aesthetic Prediction Tasks}, journal={IEEE Transactions on Multimedia}, volume={23}, pages={611--623}, "
    "year={2021}, doi={10.1109/TMM.2020.2985526}}"
)

PRIVACY = (
    "Usernames are never stored. The crawler keeps only an author key, an HMAC-SHA256 of the username "
    "keyed with a secret that stays on the builder's machine, so comments by one author can be grouped "
    "but not looked up; the split files carry no author field at all. Comment text is free text written "
    "in public by site members and may itself mention names or personal details; it was not scrubbed."
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a Croissant file says about one source dataset beyond the build's numbers."""

    title: str
    url: str
    scale: str
    about: str
    collection: str
    biases: tuple[str, ...]
    limitations: tuple[str, ...]


_COMMON_LIMITATIONS = (
    "Only images with at least one usable comment are kept, so the comment filter changes the score "
    "distribution of each split relative to the full dataset.",
    "MRACNN-style models need comments at inference time; for uncommented images use a vision-only model.",
)

DATASETS: dict[str, DatasetInfo] = {
    "ava": DatasetInfo(
        title="AVA Comments",
        url="https://www.dpchallenge.com",
        scale="1..10",
        about=(
            "Photos of the AVA dataset (Murray, Marchesotti and Perronnin, CVPR 2012), taken from "
            "DPChallenge.com photo challenges, with each photo's vote histogram (scores 1..10, about 200 "
            "voters per image) and the user comments posted on its DPChallenge page, cleaned and split "
            "into the standard AVA partition (test = the available ids of generic_test.jpgl)."
        ),
        collection=(
            "Votes, semantic tags and challenge ids come from the AVA distribution's AVA.txt. Comments were "
            "crawled politely (robots.txt, rate limits) from each image's public DPChallenge page, or imported "
            "from published comment dumps (AVA-Captions, DPC-Captions) that were collected the same way."
        ),
        biases=(
            "Voters and commenters are DPChallenge members, mostly English-speaking amateur and "
            "semi-professional photographers; their taste is not a general population's.",
            "Comments cluster on popular and high-scoring images; the challenge themes shape the content.",
        ),
        limitations=_COMMON_LIMITATIONS,
    ),
    "photonet": DatasetInfo(
        title="Photo.net Comments",
        url="https://www.photo.net",
        scale="1..7",
        about=(
            "Photos of the Photo.net aesthetics dataset (Datta et al. 2006; Joshi et al. 2011) with each "
            "photo's rating histogram (scores 1..7) and the user critiques posted on its Photo.net page, "
            "recovered from the Internet Archive's Wayback Machine captures because the old pages are gone."
        ),
        collection=(
            "Ratings come from Ritendra Datta's Photo.net release (photonet_dataset.txt, March '09): the counts "
            "of ratings 1..7 are the votes; photos whose line gives only the mean are left out. Comments were "
            "taken from archived captures of the photo pages (Wayback Machine), found through its CDX index "
            "and fetched politely."
        ),
        biases=(
            "Raters and commenters are Photo.net members (largely enthusiast photographers) and rated "
            "photos that other members chose to ask critique for.",
            "Only pages the Wayback Machine captured can contribute comments, which favours popular pages.",
        ),
        limitations=(
            *_COMMON_LIMITATIONS,
            "Archived captures may hold only part of a page's comments (captured before later comments).",
        ),
    ),
}


def _data_type(field_type: pa.DataType) -> str:
    for test, name in _DATA_TYPES:
        if test(field_type):
            return name
    raise ValueError(f"no Croissant data type for Arrow type {field_type}")


def _field(split: str, field: pa.Field) -> dict[str, Any]:
    is_list = pa.types.is_list(field.type)
    entry: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{split}/{field.name}",
        "name": field.name,
        "description": FIELD_DESCRIPTIONS.get(field.name, field.name),
        "dataType": _data_type(field.type.value_type if is_list else field.type),
        "source": {"fileObject": {"@id": f"{split}.parquet"}, "extract": {"column": field.name}},
    }
    if is_list:
        entry["isArray"] = True
        entry["arrayShape"] = "-1"
    return entry


def _split_files(dataset_dir: Path) -> dict[str, Path]:
    files = {split: dataset_dir / f"{split}.parquet" for split in SPLITS}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise UserError(f"cannot describe {dataset_dir}: missing split file(s) {', '.join(missing)}")
    return files


def _stats(files: Mapping[str, Path]) -> dict[str, float]:
    """Votes and comments per image over all split files (read from the files, not assumed)."""
    try:
        table = pa.concat_tables(pq.read_table(path, columns=["n_votes", "n_comments"]) for path in files.values())
    except (pa.ArrowInvalid, OSError, KeyError) as err:
        raise UserError(f"cannot read the split files in {next(iter(files.values())).parent}: {err}") from err
    if table.num_rows == 0:
        return {"images": 0}
    stats: dict[str, float] = {"images": table.num_rows}
    for column in ("n_votes", "n_comments"):
        values = table[column]
        stats[f"{column}_mean"] = round(pc.mean(values).as_py(), 1)
        stats[f"{column}_min"] = pc.min(values).as_py()
        stats[f"{column}_max"] = pc.max(values).as_py()
    return stats


def _annotations_per_item(info: DatasetInfo, stats: Mapping[str, float]) -> str:
    if not stats["images"]:
        return f"Each image carries its histogram of member score votes ({info.scale}); these files hold no images."
    return (
        f"Each image carries its histogram of member score votes ({info.scale}): over the {stats['images']:,} images "
        f"in these files, {stats['n_votes_mean']} votes per image on average (min {stats['n_votes_min']}, max "
        f"{stats['n_votes_max']}), and {stats['n_comments_mean']} usable comments per image (min "
        f"{stats['n_comments_min']}, max {stats['n_comments_max']})."
    )


def _preprocessing(report: Mapping[str, Any]) -> list[str]:
    rules = [f"Cleaning rule {i}, {r['name']}: {r['description']} ({r['hits']:,} hits)." for i, r in
             enumerate(report["rules"], 1)]
    leak = report["label_leakage"]
    fate = "dropped" if leak["dropped"] else "kept and only counted (opt-in --drop-score-mentions drops them)"
    return [
        *rules,
        f"Images left without a usable comment were removed: {report['funnel']['with_usable_comment']:,} of "
        f"{report['funnel']['available']:,} available images have one; {sum(report['splits'][s] for s in SPLITS):,} "
        "are in the split files (those with no vote, or in no split, are left out too).",
        f"Partition ({report['partition']['method']}): {report['partition']['description']}",
        f"Comments that state a score (possible label leakage): {leak['score_mentions']:,} in "
        f"{leak['images_with_score_mentions']:,} images, {fate}.",
        f"Useless comments (--useless-comments {report['useless_comments']['policy']}): "
        f"{report['useless_comments']['description']}.",
        f"Comments kept by when they were written (--comments-period): {report['comments_period']['chosen']} "
        "(during = while voting was open, after = once the results were out, all = both, the paper's choice).",
    ]


def croissant_document(dataset_dir: Path, report: Mapping[str, Any]) -> dict[str, Any]:
    """The Croissant JSON-LD object for the split files in `dataset_dir` and their build report."""
    require_report_keys(report)
    dataset = report["dataset"]
    if dataset not in DATASETS or dataset not in DATASET_FIELDS:
        raise UserError(f"build report: unknown dataset {dataset!r}; expected one of {', '.join(sorted(DATASETS))}")
    info = DATASETS[dataset]
    files = _split_files(Path(dataset_dir))
    schema = split_schema(dataset)
    splits = report["splits"]
    funnel = report["funnel"]
    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": path.name,
            "name": path.name,
            "description": f"The {split} split: {splits[split]:,} images, one row per image, sorted by image_id.",
            "contentUrl": path.name,
            "contentSize": f"{path.stat().st_size} B",
            "encodingFormat": "application/x-parquet",
            "sha256": sha256_file(path),
        }
        for split, path in files.items()
    ]
    record_sets = [
        {
            "@type": "cr:RecordSet",
            "@id": split,
            "name": split,
            "description": f"One record per image of the {split} split.",
            "key": {"@id": f"{split}/image_id"},
            "field": [_field(split, field) for field in schema],
        }
        for split in SPLITS
    ]
    stats = _stats(files)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT_VERSION, RAI_VERSION],
        "name": f"{dataset}_comments",
        "description": (
            f"{info.title}. {info.about} Funnel: {funnel['in_index']:,} ids in the index, {funnel['available']:,} "
            f"available, {funnel['with_any_comment']:,} with any comment, {funnel['with_usable_comment']:,} with a "
            f"usable comment; splits " + ", ".join(f"{s} {splits[s]:,}" for s in SPLITS) + ". Built by "
            f"aesthetic-build-splits {report['tool_version']}."
        ),
        "license": LICENSE,
        "citeAs": CITE_AS,
        "url": info.url,
        "keywords": ["image aesthetics", "user comments", "multimodal", "image-text", dataset],
        "inLanguage": ["en"],
        "distribution": distribution,
        "recordSet": record_sets,
        "rai:dataCollection": info.collection,
        "rai:dataCollectionType": ["Web Scraping", "User-Generated Content Data", "Secondary Data Analysis"],
        "rai:dataCollectionRawData": (
            "Raw pages are kept by the crawler as WARC files on the builder's machine; they are not part of "
            "this distribution."
        ),
        "rai:dataCollectionMissingData": (
            f"{funnel['available'] - funnel['with_any_comment']:,} available images had no comment and "
            f"{funnel['with_any_comment'] - funnel['with_usable_comment']:,} only useless ones; both were left out."
        ),
        "rai:personalSensitiveInformation": [PRIVACY],
        "rai:dataBiases": list(info.biases),
        "rai:dataLimitations": [
            *info.limitations,
            f"Possible label leakage: {report['label_leakage']['score_mentions']:,} comments state a score.",
        ],
        "rai:dataPreprocessingProtocol": _preprocessing(report),
        "rai:dataAnnotationProtocol": [
            f"Scores are the votes cast by site members on a {info.scale} scale; labels are derived from the "
            f"vote histogram (mean, standard deviation, mean above {report['options']['threshold']} = high). "
            "No annotation was added here."
        ],
        "rai:annotationsPerItem": _annotations_per_item(info, stats),
        "rai:dataUseCases": [
            "Training and evaluating image aesthetic assessment models that use the photo, its comments or both "
            "(e.g. MRACNN, Text-CNN, vision-only baselines).",
            "Studying how user critiques relate to aesthetic scores.",
            "Not for identifying or profiling commenters or photographers.",
        ],
        "rai:dataSocialImpact": (
            "Aesthetic models trained on one community's taste can reinforce it when used to rank or filter "
            "other people's photos."
        ),
        "rai:dataReleaseMaintenancePlan": (
            "The files are rebuilt from their inputs by aesthetic-build-splits; the build report records the "
            "input hashes, so a rebuild can be checked byte for byte."
        ),
    }
    if re.fullmatch(r"\d+\.\d+\.\d+", str(report["tool_version"])):
        document["version"] = report["tool_version"]
    return document


def write_croissant(dataset_dir: Path, report: dict) -> Path:
    """Write `dataset_dir/croissant.json` for the split files there; return its path."""
    dataset_dir = Path(dataset_dir)
    document = croissant_document(dataset_dir, report)
    path = dataset_dir / FILE_NAME
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path
