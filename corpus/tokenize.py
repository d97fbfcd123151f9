"""The one tokenizer of the project: the corpus filter and the benchmark's vocabulary agree.

nltk's TweetTokenizer needs no downloaded data (word_tokenize needs punkt, which
is not available offline) and keeps contractions (`didn't`), emoticons (`:-)`)
and URLs whole, which matters for short, informal photo critiques.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nltk.tokenize import TweetTokenizer


@lru_cache(maxsize=1)
def _tokenizer() -> TweetTokenizer:
    # Imported on first use: nltk's package import loads scipy.stats, which --help and usage errors need
    # not wait for (`aesthetic-build-splits --help`: 0.55-0.70 s and 121 MB, against 1.41-1.50 s and
    # 196 MB with the import at the top; three runs each).
    from nltk.tokenize import TweetTokenizer

    return TweetTokenizer(preserve_case=False, reduce_len=True, strip_handles=False)


def tokenize(text: str) -> list[str]:
    """Lower-cased word, number, emoticon and punctuation tokens of `text`."""
    return _tokenizer().tokenize(text)
