"""`search`: Docker's limits and filters around the registry's search (registry/search.py)."""

from __future__ import annotations

from sampan.engine import filters as flt
from sampan.engine.reports import SearchResult
from sampan.errors import InvalidArgument

SEARCH_FILTERS = ("is-automated", "is-official", "stars")
DEFAULT_LIMIT = 25


def search(term: str, limit: int = 0, filters=None, tls_verify: bool | None = None,
           auth: tuple[str, str] | None = None) -> list[SearchResult]:
    """Up to `limit` (1-100; 0: 25, as Docker) results for term, filtered as Docker's daemon
    filters them (stars=N: at least N; is-official=BOOL; is-automated=true: none, deprecated)."""
    want = flt.parse(filters, SEARCH_FILTERS, "search")
    automated = flt.boolean(want, "is-automated")
    official = flt.boolean(want, "is-official")
    stars = 0
    for value in want.get("stars", []):
        try:
            stars = max(stars, int(value))
        except ValueError:
            raise InvalidArgument(f"invalid filter 'stars={value}'") from None
    limit = limit or DEFAULT_LIMIT
    if not 1 <= limit <= 100:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    if not term:
        raise InvalidArgument("give a search term: WORDS (Docker Hub) or HOST[:PORT]/WORDS")
    from sampan.registry.search import search as registry_search
    found = registry_search(term, limit, tls_verify=tls_verify, auth=auth)
    if automated:
        return []
    return [SearchResult(r["name"], r["description"], r["star_count"], r["is_official"])
            for r in found
            if (official is None or r["is_official"] == official) and r["star_count"] >= stars]
