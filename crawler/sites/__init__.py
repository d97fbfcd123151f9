"""Site registry: dataset name -> Site. Adding a site is a module plus one line here."""

from __future__ import annotations

from aesthetic.crawler.sites import dpchallenge, photonet
from aesthetic.crawler.sites.base import ParsedComment, ParsedPage, Site

SITES: dict[str, Site] = {}


def register(site: Site) -> Site:
    SITES[site.dataset] = site
    return site


register(dpchallenge.SITE)
register(photonet.SITE)

__all__ = ["SITES", "ParsedComment", "ParsedPage", "Site", "register"]
