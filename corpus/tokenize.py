"""The one tokenizer of the project: the corpus filter and the benchmark's vocabulary agree.

nltk's TweetTokenizer needs no downloaded data (word_tokenize needs punkt, which
is not available offline) and keeps contractions (`didn't`), emoticons (`:-)`)
and URLs whole, which matters for short, informal photo critiques.
"""

from __future__ import annotations

from functools import lru_cache

from nltk.tokenize import TweetTokenizer


@lru_cache(maxsize=1)
def _tokenizer() -> TweetTokenizer:
    return TweetTokenizer(preserve_case=False, reduce_len=True, strip_handles=False)


def tokenize(text: str) -> list[str]:
    """Lower-cased word, number, emoticon and punctuation tokens of `text`."""
    return _tokenizer().tokenize(text)
