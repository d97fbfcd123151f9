"""AVA's own files: `AVA.txt` (votes, tags, challenge per image) and the official id lists.

The layouts (AVA.txt's 15 columns, the `.jpgl` lists, ILGnet's `<id> <label>` list) are
described once in `core.layouts`, where the crawler reads them too. The standard test split is
`aesthetics_image_lists/generic_test.jpgl`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aesthetic.core.errors import UserError
from aesthetic.core.layouts import AVA_TXT, ID_LIST, ILGNET_IDS, Layout, read_layout
from aesthetic.core.textfiles import require_subset
from aesthetic.corpus.labels import RatedImages

AVA_SCORES = 10
TEST_LIST = Path("aesthetics_image_lists") / "generic_test.jpgl"
AVAILABLE_IDS_LAYOUTS = (ID_LIST, ILGNET_IDS)  # --available-ids: one id per line, or ILGnet's `<id> <label>`


def read_ava_txt(path: Path) -> RatedImages:
    """Parse and validate AVA.txt (line-numbered errors), sorted by image id."""
    table = read_layout(path, "AVA.txt", [AVA_TXT])
    frame = table.frame.sort_values("image_id", kind="stable")
    return RatedImages(
        ids=frame["image_id"].to_numpy(np.int64),
        votes=frame[[f"votes_{s}" for s in range(1, AVA_SCORES + 1)]].to_numpy(np.int32),
        extra={
            "semantic_tags": frame[["tag_1", "tag_2"]].to_numpy(np.int32),
            "challenge_id": frame["challenge_id"].to_numpy(np.int32),
        },
        no_histogram=np.zeros(len(frame), dtype=bool),
        notes={"layout": AVA_TXT.name, "lines": len(frame)},
    )


def read_id_list(path: Path, role: str, accepted: Sequence[Layout] = (ID_LIST,)) -> np.ndarray:
    """The ids of a list file, in file order (`.jpgl`: one id per line; the available-ids file may
    also be ILGnet's `<id> <label>` list). A repeated id is an error."""
    return read_layout(path, role, accepted).ids


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
