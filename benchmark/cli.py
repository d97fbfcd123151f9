"""`aesthetic-benchmark`: train and evaluate MRACNN and its baselines on a corpus.

Three commands: `train` (the default: `aesthetic-benchmark --model mracnn ...`
means `aesthetic-benchmark train --model mracnn ...`), `evaluate`, and `suite`
(every configuration of the paper's tables, suite.py). Multi-GPU / multi-node:
launch the same command under `torchrun`.

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

from aesthetic.benchmark.config import (
    TrainConfig,
    add_options,
    check_path,
    check_paths,
    from_values,
    parsed_values,
    settings,
)
from aesthetic.benchmark.suite import PRESETS, TABLES, parse_tables, parse_trunk_weights
from aesthetic.core.argtypes import float_at_least
from aesthetic.core.cli import run
from aesthetic.core.errors import UserError
from aesthetic.core.log import setup_logging
from aesthetic.core.outdir import check_out_dir

if TYPE_CHECKING:
    from aesthetic.benchmark.runtime import Runtime

PROG = "aesthetic-benchmark"
COMMANDS = ("train", "evaluate", "suite")
# What the suite sets itself, run by run: the configuration (model, trunk, fusion, T, layers, vision head),
# the trunk's weights (one file per trunk: --trunk-weights TRUNK=FILE), the run folder and the comparison.
SUITE_SETS = ("model.name", "model.trunk", "model.fusion", "model.glimpses", "model.lstm_layers",
              "model.vision_head", "model.trunk_weights", "out", "compare_paper")
SUITE_OWN = ("model.trunk_weights", "out")      # flags the suite has in a form of its own

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

SUITE_EPILOG = """\
examples:
  aesthetic-benchmark suite --preset cpu-smoke --corpus demo-output/corpus/ava \\
      --images demo-output/crawl/images --out suite-smoke --tables I,II,III
  aesthetic-benchmark suite --preset paper --corpus corpus-out/ava --images ava-images --out suite \\
      --trunk-weights vgg16=vgg16-397923af.pth --trunk-weights alexnet=alexnet-owt-7be5be79.pth \\
      --trunk-weights inception_v3=inception_v3_google-0cc3c7bd.pth --glove glove.6B.300d.txt
  aesthetic-benchmark suite ... --list --throughput 250     (the plan and a time per run, no training)

Each configuration is an ordinary run folder, OUT/runs/<model-trunk-...>; run the same
command again after a kill and it continues (finished runs are skipped). OUT/suite.md and
OUT/suite.json hold the tables, our metrics beside the MRACNN paper's.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train and evaluate aesthetic-prediction models (MRACNN and baselines) on a corpus.\n"
                    "Each command's options: aesthetic-benchmark train --help, ... evaluate --help, ... suite --help.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,suite}")
    train = sub.add_parser("train", help="train a model (the default command)", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train_groups = add_options(train, TrainConfig)
    train_groups["training"].add_argument("--resume", action="store_true",
                                          help="continue the run in --out from its last checkpoint")

    ev = sub.add_parser("evaluate", help="score a checkpoint on a corpus' test split")
    ev.add_argument("--checkpoint", required=True, help="a best.pt / last.pt from a run")
    ev.add_argument("--out", default=None, help="output folder (default: RUN_DIR/evaluate)")
    evaluate_groups = add_options(ev, TrainConfig, groups=("data",))

    suite = sub.add_parser("suite", help="every configuration of the paper's Tables I-IV, beside its numbers",
                           epilog=SUITE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    suite.add_argument("--out", required=True,
                       help="suite folder: runs/<configuration>/ (ordinary run folders), cache/, suite.json, suite.md")
    suite.add_argument("--tables", type=parse_tables, default=list(TABLES), metavar="I,II,III,IV",
                       help="the MRACNN paper's tables to run (default all four; IV on a Photo.net corpus is its "
                            "Photo.net table)")
    suite.add_argument("--preset", choices=tuple(PRESETS),
                       help="option values for the whole suite, under those given here: "
                            + "; ".join(f"{name}: {p.about}" for name, p in PRESETS.items()))
    suite.add_argument("--trunk-weights", action="append", type=parse_trunk_weights, default=[],
                       metavar="TRUNK=FILE", help="a torchvision state_dict for the runs of TRUNK (repeat for each "
                                                  "trunk); runs without one are random init, labelled")
    suite.add_argument("--list", action="store_true", help="print the plan (runs, tables, status) and stop")
    suite.add_argument("--throughput", type=float_at_least(0, strict=True), metavar="IMAGES_PER_S",
                       help="with --list: training images per second, for an estimated time per run")
    suite_groups = add_options(suite, TrainConfig, exclude=SUITE_SETS, only_given=True)
    for s in settings(TrainConfig):
        if s.name in SUITE_SETS and s.name not in SUITE_OWN:
            suite.add_argument(s.flag, nargs="?", action=_SetBySuite, help=argparse.SUPPRESS)
    for groups in (train_groups, evaluate_groups, suite_groups):
        groups["data"].add_argument("--quiet", action="store_true", help="warnings only, no progress bars")
    return parser


class _SetBySuite(argparse.Action):
    """A configuration flag given to `suite`, which sets it row by row: a usage error that says so."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(f"{option_string}: the suite sets it for each row of the paper's tables "
                     "(choose the tables with --tables)")


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
    if args.command == "suite":
        return _suite(args, values)
    if args.command == "evaluate":
        if args.out is not None:
            check_out_dir(args.out)
        check_path(args.checkpoint, "file", flag="--checkpoint", what="checkpoint")
    check_paths(TrainConfig, values)
    # torch from here on: what the command line can get wrong has been refused.
    if args.command == "evaluate":
        from aesthetic.benchmark.checkpoint import checkpoint_config, load_checkpoint
        from aesthetic.benchmark.evaluate import evaluate_checkpoint

        checkpoint = Path(args.checkpoint)
        saved = load_checkpoint(checkpoint)
        # Evaluated in the precision the run trained in: bf16 only if the run used it (--amp, on CUDA).
        with _runtime(values["device"], amp=checkpoint_config(saved, checkpoint).amp) as runtime:
            evaluate_checkpoint(checkpoint, saved, runtime, values, Path(args.out) if args.out else None)
        return 0
    from aesthetic.benchmark.train import train

    cfg = from_values(TrainConfig, values)
    with _runtime(cfg.device, amp=cfg.amp) as runtime:
        train(cfg, runtime, resume=args.resume)
    return 0


def _suite(args: argparse.Namespace, given: dict) -> int:
    """Check every path, read the corpus' dataset, plan; then list the plan or run it."""
    check_out_dir(args.out, "--out")
    check_paths(TrainConfig, given)
    weights = dict(args.trunk_weights)
    if len(weights) < len(args.trunk_weights):
        raise UserError("--trunk-weights names a trunk twice")
    for path in weights.values():
        check_path(path, "file", flag="--trunk-weights", what="PyTorch weights file")
    # torch from here on (the corpus reader).
    from aesthetic.benchmark.data import load_corpus
    from aesthetic.benchmark.paper import paper_tables
    from aesthetic.benchmark.suite import describe_plan, make_plan, markdown, run_suite

    dataset = load_corpus(Path(given["corpus"]), uses_text=False, splits=("test",)).dataset
    try:
        tables = paper_tables(args.tables, dataset)
    except ValueError as exc:
        raise UserError(f"{given['corpus']}: {exc}", hint="--tables IV is the paper's table for this corpus") from exc
    plan = make_plan(Path(args.out), tables, given, preset=args.preset, trunk_weights=weights)
    first = plan.runs[0].cfg
    if args.list:
        corpus = load_corpus(Path(first.corpus), uses_text=False, limit=first.limit, threshold=first.threshold,
                             seed=first.seed, val_fraction=first.val_fraction)
        print(describe_plan(plan, {split: len(frame) for split, frame in corpus.splits.items()}, args.throughput))
        return 0
    with _runtime(first.device, amp=first.amp) as runtime:
        suite = run_suite(plan, runtime)
        if runtime.is_main:
            print(markdown(suite, plan))
            print(f"\nwritten: {Path(args.out) / 'suite.md'}, {Path(args.out) / 'suite.json'}")
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
