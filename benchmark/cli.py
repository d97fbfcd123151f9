"""`aesthetic-benchmark`: train and evaluate MRACNN and its baselines on a corpus.

Two commands: `train` (the default: `aesthetic-benchmark --model mracnn ...`
means `aesthetic-benchmark train --model mracnn ...`) and `evaluate`.
Multi-GPU / multi-node: launch the same command under `torchrun`.

The options are the fields of `TrainConfig` (config.py). The command line is parsed, bounded
and every path checked before torch is imported, so a mistake is refused in a fraction of a
second and before any run folder exists.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aesthetic.benchmark.config import TrainConfig, add_options, check_path, check_paths, from_values, parsed_values
from aesthetic.core.cli import run
from aesthetic.core.log import setup_logging
from aesthetic.core.outdir import check_out_dir

if TYPE_CHECKING:
    from aesthetic.benchmark.runtime import Runtime

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
    train_groups = add_options(train, TrainConfig)
    train_groups["training"].add_argument("--resume", action="store_true",
                                          help="continue the run in --out from its last checkpoint")

    ev = sub.add_parser("evaluate", help="score a checkpoint on a corpus' test split")
    ev.add_argument("--checkpoint", required=True, help="a best.pt / last.pt from a run")
    ev.add_argument("--out", default=None, help="output folder (default: RUN_DIR/evaluate)")
    evaluate_groups = add_options(ev, TrainConfig, groups=("data",))
    for groups in (train_groups, evaluate_groups):
        groups["data"].add_argument("--quiet", action="store_true", help="warnings only, no progress bars")
    return parser


def _with_default_command(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        return ["train", *argv]
    return argv


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 2
    setup_logging(quiet=args.quiet)
    values = parsed_values(TrainConfig, args)
    if args.command == "evaluate":
        if args.out is not None:
            check_out_dir(args.out)
        check_path(args.checkpoint, "file", flag="--checkpoint", what="checkpoint")
    check_paths(TrainConfig, values)
    # torch from here on: what the command line can get wrong has been refused.
    if args.command == "evaluate":
        from aesthetic.benchmark.evaluate import evaluate_checkpoint

        with _runtime(values["device"], amp=True) as runtime:
            evaluate_checkpoint(Path(args.checkpoint), runtime, values, Path(args.out) if args.out else None)
        return 0
    from aesthetic.benchmark.train import train

    cfg = from_values(TrainConfig, values)
    with _runtime(cfg.device, amp=cfg.amp) as runtime:
        train(cfg, runtime, resume=args.resume)
    return 0


@contextlib.contextmanager
def _runtime(device: str, *, amp: bool) -> Iterator[Runtime]:
    """The device and, under torchrun, the process group, for the length of one command."""
    from aesthetic.benchmark.runtime import setup_runtime, teardown_runtime

    runtime = setup_runtime(device, amp=amp)
    if not runtime.is_main:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        yield runtime
    finally:
        teardown_runtime(runtime)


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
