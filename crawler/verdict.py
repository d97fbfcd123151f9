"""What an answer means for an item: one pure decision, used by the crawl engine and by `reparse`.

Why one function: the engine (deciding while it crawls) and `reparse` (deciding again later, from the
raw archive, with a better parser) must agree, or the ledger stops being the truth: a page that
`reparse` now sees as a block page must leave the item failed, not `done` with no comments. No I/O
and no clock here; the callers act on the verdict (write the ledger, pause the host, retry).

The rule, in order:
- 404/410: the item is missing.
- 403: the site's block page is a block; any other 403 is an odd answer, retried.
- another non-200: retried if a retry can change it (timeouts, 429, 5xx), else the item fails.
- a 200 the parser raised on, or that answers for another page (a redirect or an archive capture
  of another IMAGE_ID): fails, with the page kept for `reparse`.
- a 200 holding the block page: a block (a live source), or a failure (an archived copy is how the
  capture is forever, not how the host treats us now).
- the site's "no such item" page: missing.
- a page cut off, or one the parser does not recognise as a photo page (a soft block, a login
  wall, a rate-limit text inside the normal frame): odd, so retried and counted towards block
  detection on a live source, failed at once for an archived copy; never `done, 0 comments`.
- a recognised, complete photo page: done (with zero comments only if it really has none).
Where unsure, an item fails with its page archived rather than storing something doubtful.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aesthetic.crawler.sites.base import ParsedPage

Action = Literal["done", "missing", "retry", "block", "fail"]

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MISSING_STATUSES = frozenset({404, 410})


def retryable(status: int) -> bool:
    """An answer that may change on a later try: a timeout, too-early, rate limit or any server error.
    Other statuses (400, 401, 451, a redirect without Location...) fail the item at once: asking again
    would only cost the site requests (--retry-failed tries them again on purpose)."""
    return status in RETRY_STATUSES or status >= 500


def needs_parse(status: int) -> bool:
    """Whether `judge` looks at the page of an answer with this status (the caller parses only then)."""
    return status in (200, 403)


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str | None = None   # for the ledger's last_error and the log (None for done/missing)
    odd: bool = False           # counts towards block detection (a run of odd answers is a block)
    keep_page: bool = False     # the answer is a 200 page: the ledger names its WARC record for reparse
    normal: bool = False        # a real photo page: the host is not blocking us


def judge(status: int, page: ParsedPage | None, *, archived: bool, parse_error: str | None = None,
          misattributed: str | None = None) -> Verdict:
    """The verdict on one answer. `page`: the parsed body (None when not parsed: see `needs_parse`, or
    the parser raised `parse_error`); `archived`: the source serves old copies (Wayback);
    `misattributed`: why the answer is not the item's page (from the source), if it is not."""
    if status in MISSING_STATUSES:
        return Verdict("missing")
    if status == 403:
        if page is not None and page.kind == "blocked":
            return Verdict("block", "the site's block page (HTTP 403)")
        return Verdict("retry", "HTTP 403", odd=True)
    if status != 200:
        return Verdict("retry" if retryable(status) else "fail", f"HTTP {status}")
    if parse_error is not None:
        return Verdict("fail", parse_error, keep_page=True)
    if misattributed is not None:
        return Verdict("fail", misattributed, keep_page=True)
    if page is None:
        raise ValueError("a 200 answer needs its parsed page")
    if page.kind == "blocked":
        if archived:
            return Verdict("fail", "the capture is the site's block page", keep_page=True)
        return Verdict("block", "the site's block page", keep_page=True)
    if page.kind == "missing":
        return Verdict("missing", keep_page=True)
    if not page.complete or page.kind == "unrecognised":
        why = ("the page looks truncated" if not page.complete
               else "not a photo page the parser recognises (a soft block, login wall or error page?)")
        if archived:
            return Verdict("fail", f"{why.replace('the page', 'the capture', 1)}", keep_page=True)
        return Verdict("retry", why, odd=True, keep_page=True)
    return Verdict("done", keep_page=True, normal=True)


def final(verdict: Verdict) -> tuple[str, str | None]:
    """The ledger state once no more tries are possible (attempts used up, or `reparse`): done and
    missing stay; a retry or block that never resolved is a failure, its reason kept."""
    if verdict.action in ("done", "missing"):
        return verdict.action, None
    return "failed", verdict.reason
