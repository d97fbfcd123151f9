"""`aesthetic-build-splits`: ratings + comments -> clean Parquet splits, build report, Croissant, card."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from aesthetic.core.argtypes import finite_float
from aesthetic.core.cli import EXIT_OK, run
from aesthetic.core.layouts import DATTA_PHOTONET, SPLIT_FILE
from aesthetic.core.log import setup_logging
from aesthetic.core.outdir import check_out_dir
from aesthetic.core.schemas import SPLITS
from aesthetic.corpus.build import BuildOptions, build, prepare_ava, prepare_photonet
from aesthetic.corpus.clean import USELESS_POLICIES
from aesthetic.corpus import card as data_card
from aesthetic.corpus.comment_sources import FORMATS
from aesthetic.corpus.periods import PERIODS
from aesthetic.corpus.croissant import write_croissant

PROG = "aesthetic-build-splits"
log = logging.getLogger(PROG)

COMMENTS_HELP = (
    "comment sources, any mix: crawl output folders (comments/*.parquet with at least image_id, position, text); "
    "the njtwomey/dpc DPChallenge dumps (a folder of <challenge>.sql, one .sql file, or an SQLite database with "
    "their comments table); DPC-Captions JSON ({\"<id>.jpg\": [comment, ...]}); AVA-Captions' "
    "AVA_Comments_Full.txt (<line index>#<image id>#<comment>#...) or CLEAN_AVA_FULL_COMMENTS.json (its raw "
    "sentences); CSV or JSON Lines with image_id,text (optional position). Comments of one image from several "
    "sources are kept in the order the sources are given"
)
PERIOD_HELP = (
    "which comments to keep by when they were written: all (default, the MRACNN paper's choice), during (only "
    "those written while voting was open, before the score was known) or after (once the results were out). "
    "during/after need sources that say (crawl output of DPChallenge pages, dpc-sql); build_report.json counts "
    "the images and comments of every split under each period"
)
CLEANING_EPILOG = (
    "cleaning rules, in order: quotes of other comments removed; HTML to text; Unicode NFC; whitespace "
    "collapsed; empty comments, comments without letters (7, 6/10) and comments with fewer than two word "
    "tokens (nice!) dropped; duplicates within an image dropped. Comments stating a score (I gave it a 7, "
    "7/10) are counted as possible label leakage. Images left without a usable comment, and images with zero "
    "votes, are removed and counted in build_report.json. Output: OUT/<dataset>/{train,val,test}.parquet, "
    "build_report.json, croissant.json and uncommented_ids.txt (the images no source had a comment for, in "
    "the layout aesthetic-crawl --ids reads), replaced as a whole only when the build succeeds."
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--comments", type=Path, nargs="+", required=True, metavar="PATH", help=COMMENTS_HELP)
    parser.add_argument("--comments-format", default="auto", choices=["auto", *FORMATS],
                        help="format of every --comments path (default: auto-detect each; a path that fits several "
                             "formats, or none, is an error)")
    parser.add_argument("--comments-period", default="all", choices=PERIODS, help=PERIOD_HELP)
    parser.add_argument("--available-ids", type=Path, metavar="FILE",
                        help="ids of the images actually present: one id per line, or ILGnet's `<id> <label>` list "
                             "(label 0 or 1); default: every id of the index")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder; writes DIR/<dataset>/")
    parser.add_argument("--threshold", type=finite_float, default=5.0,
                        help="label_high = mean score > THRESHOLD (default 5, the paper's)")
    parser.add_argument("--useless-comments", default="drop", choices=sorted(USELESS_POLICIES),
                        help="drop: " + USELESS_POLICIES["drop"] + " (default); keep: " + USELESS_POLICIES["keep"]
                             + ". The paper says only that it removed the images whose comments were all useless")
    parser.add_argument("--drop-score-mentions", action="store_true",
                        help="drop comments that state a score (possible label leakage); default: only count them")
    parser.add_argument("--card", type=Path, metavar="PATH",
                        help="data card (data_cards/*.md) whose numbers block to refresh from the build report")
    parser.add_argument("--ignore-unknown-ids", action="store_true",
                        help="ids in the test list, available-ids file or split file that are not in the index are "
                             "left out and counted in build_report.json (default: an error naming the first one)")
    parser.add_argument("--quiet", action="store_true", help="warnings only, no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Build clean Parquet splits of a multimodal (photo + "
                                     "comments) aesthetics dataset from its ratings and comments.", epilog=CLEANING_EPILOG)
    sub = parser.add_subparsers(dest="dataset", required=True, metavar="{ava,photonet}")
    ava = sub.add_parser("ava", help="AVA (DPChallenge): AVA.txt + official lists", epilog=CLEANING_EPILOG,
                         description="test = the available ids of aesthetics_image_lists/generic_test.jpgl, train = "
                                     "every other available id, val carved from train by a hash of the image id.")
    ava.add_argument("--ava-dir", type=Path, required=True, metavar="DIR",
                     help="AVA distribution folder: AVA.txt (15 columns: index, image id, 10 vote counts, 2 "
                          "semantic tags, challenge id) and aesthetics_image_lists/generic_test.jpgl")
    ava.add_argument("--val-fraction", type=finite_float, default=0.05,
                     help="share of train moved to val by a hash of the image id (default 0.05)")
    _common(ava)
    photonet = sub.add_parser("photonet", help="Photo.net: ratings 1..7", epilog=CLEANING_EPILOG,
                              description="Without --split-file, a deterministic hash split in the paper's "
                                          "proportions train : val : test = 11,754 : 782 : 2,409.")
    photonet.add_argument("--ratings", type=Path, required=True, metavar="FILE",
                          help=f"the ratings: {DATTA_PHOTONET.describe()}. The seven counts are the votes; "
                               "mean-only lines are left out of the splits, and they and the lines whose counts do "
                               "not add up to column 3 are counted in build_report.json")
    photonet.add_argument("--split-file", type=Path, metavar="FILE",
                          help=f"published partition, {SPLIT_FILE.describe()}; every id it lists must be in the "
                               "ratings file; photos it does not list are left out")
    _common(photonet)
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet)
    check_out_dir(args.out)
    if args.card is not None:
        data_card.read_card(args.card)  # a bad --card fails now, not after the build
    if args.dataset == "ava":
        prepared = prepare_ava(args.ava_dir, args.available_ids, args.val_fraction, args.ignore_unknown_ids)
    else:
        prepared = prepare_photonet(args.ratings, args.split_file, args.available_ids, args.ignore_unknown_ids)
    options = BuildOptions(out=args.out, comments=args.comments, comments_format=args.comments_format,
                           threshold=args.threshold, drop_score_mentions=args.drop_score_mentions,
                           comments_period=args.comments_period, useless_comments=args.useless_comments)
    report = build(prepared, options, finish=write_croissant)
    if args.card is not None:
        data_card.refresh_card(args.card, report)
    log.info("wrote %s: %s", Path(args.out) / args.dataset, ", ".join(f"{s} {report['splits'][s]:,}" for s in SPLITS))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _main, argv)
