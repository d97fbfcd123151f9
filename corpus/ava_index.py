"""AVA's own files: `AVA.txt` (votes, tags, challenge per image) and the official id lists.

AVA.txt has 15 space-separated columns per line: row index, image id, the counts of
votes for scores 1..10, semantic tag 1, semantic tag 2 (0 = none), challenge id
(the AVA README's layout). The standard test split is `aesthetics_image_lists/generic_test.jpgl`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aesthetic.core.errors import UserError
from aesthetic.corpus.labels import RatedImages
from aesthetic.corpus.textfiles import Column, read_table, require_subset

AVA_SCORES = 10
AVA_COLUMNS = [
    Column("index"),
    Column("image_id", bits=64),
    *(Column(f"votes_{score}") for score in range(1, AVA_SCORES + 1)),
    Column("tag_1"),
    Column("tag_2"),
    Column("challenge_id"),
]
TEST_LIST = Path("aesthetics_image_lists") / "generic_test.jpgl"


def read_ava_txt(path: Path) -> RatedImages:
    """Parse and validate AVA.txt (line-numbered errors), sorted by image id."""
    frame = read_table(path, "AVA.txt", AVA_COLUMNS, key=1)
    frame = frame.sort_values("image_id", kind="stable")
    return RatedImages(
        ids=frame["image_id"].to_numpy(np.int64),
        votes=frame[[f"votes_{s}" for s in range(1, AVA_SCORES + 1)]].to_numpy(np.int32),
        extra={
            "semantic_tags": frame[["tag_1", "tag_2"]].to_numpy(np.int32),
            "challenge_id": frame["challenge_id"].to_numpy(np.int32),
        },
    )


def read_id_list(path: Path, role: str) -> np.ndarray:
    """Ids from the first column of a list file (`.jpgl`: one id per line; the ILGnet
    available-ids file: `<id> <label>`; extra columns are ignored). Duplicates are an error."""
    frame = read_table(path, role, [Column("image_id", bits=64)], extra_ok=True)
    return frame["image_id"].to_numpy(np.int64)


def read_ava_dir(ava_dir: Path, allow_unknown: bool = False) -> tuple[RatedImages, np.ndarray, Path, Path, int]:
    """AVA.txt and the official test list of an AVA distribution folder, cross-checked.

    Returns (index, test ids, path of AVA.txt, path of the test list, number of listed
    test ids not in AVA.txt, which is 0 unless `allow_unknown`).
    """
    ava_dir = Path(ava_dir)
    if not ava_dir.is_dir():
        raise UserError(f"{ava_dir}: --ava-dir must be an AVA distribution folder (AVA.txt + aesthetics_image_lists/)")
    ava_txt, test_list = ava_dir / "AVA.txt", ava_dir / TEST_LIST
    index = read_ava_txt(ava_txt)
    test_ids = read_id_list(test_list, "official test list")
    unknown = require_subset(test_list, test_ids, index.ids, "official test list", "AVA.txt", allow_unknown)
    return index, test_ids, ava_txt, test_list, unknown
