"""Contracts and plumbing shared by every stage (crawler, corpus, benchmark).

`core` imports no stage; stages import from it.
"""

__version__ = "0.1.0"
