"""`search`: ask a registry for repositories matching some words.

Docker asks the index's /v1/search (Docker Hub has one). Registries that speak only the
distribution API (distribution's `registry`, most private ones) answer it 404: then their
/v2/_catalog is listed, page by page (`n` and `last`), and the repository names that contain
the words are the results. Everything a registry sends is bounded (bytes per answer, pages,
names) and checked: a name that is not a repository name, or a field of the wrong type, is
dropped, never shown.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import quote, urlencode

from sampan.errors import InvalidArgument, RegistryError
from sampan.oci.reference import NAME_MAX, valid_path
from sampan.registry.client import RegistryClient, _read_capped

HUB_INDEX = "index.docker.io"       # where Docker Hub's /v1/search is
MAX_ANSWER_BYTES = 4 << 20          # one /v1/search answer or one catalog page
CATALOG_PAGE = 100                  # names asked per catalog page
MAX_CATALOG_PAGES = 100             # so at most 10,000 names are looked at
MAX_DESCRIPTION = 1000              # characters kept of a description
RESOLVE_TIMEOUT = 10.0              # seconds for the host's name to resolve (not bounded by httpx)
CATALOG_SCOPE = "registry:catalog:*"


def split_term(term: str) -> tuple[str, str]:
    """(index, words), as Docker splits a search term: HOST[:PORT]/WORDS names a registry
    when its first part has a '.' or ':' or is localhost; anything else is Docker Hub."""
    if "://" in term:
        raise InvalidArgument(f"invalid repository name: repository name ({term}) should not have a scheme")
    first, slash, rest = term.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return "docker.io", term
    return first, rest


def search(term: str, limit: int, *, tls_verify: bool | None = None,
           auth: tuple[str, str] | None = None) -> list[dict]:
    """Up to `limit` results for term: dicts with Docker's SearchResult keys (name,
    description, star_count, is_official, is_automated)."""
    index, words = split_term(term)
    hub = index in ("docker.io", HUB_INDEX)
    host = HUB_INDEX if hub else index
    _check_resolves(host, hub)
    client = RegistryClient("docker.io" if hub else index, term, tls_verify=tls_verify, auth=auth)
    if hub:
        client.host = HUB_INDEX  # the index serves /v1/search; registry-1 serves /v2/
        words = words.removeprefix("library/")
    try:
        with client:
            found = _v1_search(client, words, limit)
            if found is None and not hub:
                found = _catalog_search(client, index, words, limit)
    except RegistryError as e:
        if hub:
            raise RegistryError(f"cannot search Docker Hub ({HUB_INDEX}): {_cause(e.message, term)}; "
                                f"to search a registry, give HOST[:PORT]/WORDS") from None
        raise
    if found is None:
        raise RegistryError(f"{host} answered /v1/search with HTTP 404: it offers no search")
    return found[:limit]


def _cause(message: str, term: str) -> str:
    return message.removeprefix(f"{term}: ")


def _check_resolves(host: str, hub: bool) -> None:
    """getaddrinfo is not bounded by httpx's timeouts: resolve in a thread and give up in
    RESOLVE_TIMEOUT seconds (a machine with a dead resolver must not hang `search`)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    outcome: list = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(name, None)
            outcome.append(None)
        except OSError as e:
            outcome.append(e)

    t = threading.Thread(target=resolve, daemon=True)
    t.start()
    t.join(RESOLVE_TIMEOUT)
    if not outcome or outcome[0] is not None:
        why = f"{outcome[0].strerror or outcome[0]}" if outcome else f"no answer in {RESOLVE_TIMEOUT:g} s"
        what = f"Docker Hub ({HUB_INDEX})" if hub else host
        hint = "; to search a registry, give HOST[:PORT]/WORDS" if hub else ""
        raise RegistryError(f"cannot search {what}: cannot resolve {name}: {why}{hint}")


def _v1_search(client: RegistryClient, words: str, limit: int) -> list[dict] | None:
    """GET /v1/search; None when the registry has none (404)."""
    path = f"/v1/search?{urlencode({'q': words, 'n': str(limit)})}"
    with client.request("GET", path, scopes=[CATALOG_SCOPE], what="searching", allow_404=True,
                        headers={"X-Docker-Token": "true"}) as resp:
        if resp.status_code == 404:
            return None
        body = _read_capped(resp, MAX_ANSWER_BYTES, client.host)
    doc = _json(body, client.host, "search answer")
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise RegistryError(f"{client.host} sent a search answer without a list of results")
    out = []
    for item in results[:limit]:
        r = _result(item)
        if r is not None:
            out.append(r)
    return out


def _result(item) -> dict | None:
    """One of /v1/search's results, checked; None for one not worth showing."""
    if not isinstance(item, dict):
        return None
    name, desc, stars = item.get("name"), item.get("description") or "", item.get("star_count") or 0
    if not isinstance(name, str) or not _valid_name(name) or not isinstance(desc, str):
        return None
    if isinstance(stars, bool) or not isinstance(stars, int) or not 0 <= stars < 2**63:
        stars = 0
    return {"name": name, "description": desc[:MAX_DESCRIPTION], "star_count": stars,
            "is_official": item.get("is_official") is True, "is_automated": False}


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= NAME_MAX and valid_path(name)


def _catalog_search(client: RegistryClient, index: str, words: str, limit: int) -> list[dict]:
    """The catalog's names that contain words (case-insensitive), as HOST/NAME results."""
    needle = words.lower()
    out: list[dict] = []
    seen: set[str] = set()   # a page sent twice must not show its names twice
    last = ""
    for _ in range(MAX_CATALOG_PAGES):
        query = f"n={CATALOG_PAGE}" + (f"&last={quote(last, safe='')}" if last else "")
        with client.request("GET", f"/v2/_catalog?{query}", scopes=[CATALOG_SCOPE],
                            what="listing the catalog") as resp:
            more = "link" in resp.headers  # distribution's sign of a next page
            body = _read_capped(resp, MAX_ANSWER_BYTES, client.host)
        doc = _json(body, client.host, "catalog page")
        names = doc.get("repositories") if isinstance(doc, dict) else None
        if not isinstance(names, list):
            raise RegistryError(f"{client.host} sent a catalog page without a list of repositories")
        more = more or len(names) >= CATALOG_PAGE
        page = [n for n in names if isinstance(n, str) and _valid_name(n)]
        for n in page:
            if needle in n and n not in seen and len(out) < limit:
                seen.add(n)
                out.append({"name": f"{index}/{n}", "description": "", "star_count": 0,
                            "is_official": False, "is_automated": False})
        # the catalog is in lexical order: a page that does not move past `last` would loop
        if len(out) >= limit or not page or not more or max(page) <= last:
            break
        last = max(page)
    return out


def _json(body: bytes, host: str, what: str):
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise RegistryError(f"{host} sent a {what} that is not JSON") from None
