"""Damaged, foreign or old checkpoints are one clear line; PyTorch's advice to load unsafely never reaches the user."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from aesthetic.benchmark.checkpoint import CHECKPOINT_FORMAT, load_checkpoint
from aesthetic.benchmark.cli import main
from aesthetic.benchmark.models.trunks import Trunk
from aesthetic.core.errors import UserError


def _saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


GOOD = _saved({"format": CHECKPOINT_FORMAT, "model": {"w": torch.zeros(64, 64)}})
DAMAGED = {
    "truncated": (GOOD[: len(GOOD) // 2], "the file is damaged or truncated"),
    "flipped": (GOOD[:200] + bytes(b ^ 0xFF for b in GOOD[200:400]) + GOOD[400:], "the file is damaged or truncated"),
    "empty": (b"", "the file is empty"),
    "junk": (b"this is not a checkpoint", "not a PyTorch file"),
    "objects": (_saved({"format": CHECKPOINT_FORMAT, "layer": torch.nn.Linear(2, 2)}),
                "it holds Python objects (torch.nn.modules.linear.Linear) beyond tensors and plain values"),
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_checkpoint_is_one_line_without_pytorchs_advice(damage, tiny_corpus, tmp_path, capsys) -> None:
    data, reason = DAMAGED[damage]
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(data)
    corpus, images = tiny_corpus
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--corpus", str(corpus), "--images", str(images),
                 "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aesthetic-benchmark: error: {checkpoint}: not a readable checkpoint: {reason}"), err
    assert err.count("\n") == 1 and "weights_only" not in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def test_weights_that_hold_a_whole_model_say_so_without_pytorchs_advice(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UserError) as caught:
        Trunk("mobilenet_v2", path)
    assert "not a readable PyTorch weights file: it holds Python objects" in str(caught.value)
    assert "weights_only" not in str(caught.value)


@pytest.mark.parametrize(("payload", "found"), [
    ({"format": "aesthetic-benchmark-checkpoint/1", "train_config": {}}, "format 'aesthetic-benchmark-checkpoint/1'"),
    ({"w": torch.zeros(1)}, "no aesthetic-benchmark format"),
    ([1, 2], "no aesthetic-benchmark format"),
])
def test_checkpoints_of_another_format_are_refused(payload, found, tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(UserError, match=f"other.pt: not a checkpoint this version reads \\({found}; expected "):
        load_checkpoint(path)
