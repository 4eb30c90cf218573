"""`search` against a registry that lies: /v1/search answers of any shape, bad JSON, huge
answers, catalog pages that never end or repeat, names that are not repository names or
carry terminal escapes. Each is refused with one line or dropped, never shown raw, never a
hang; and what is shown goes through the table safely."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from sampan.engine.image_search import search as engine_search
from sampan.errors import InvalidArgument, RegistryError
from sampan.registry import search as rs
from sampan.registry.search import search, split_term


class HostileRegistry:
    """/v2/ as a registry; /v1/search and /v2/_catalog answered by the test's functions
    (query dict -> (status, headers, body bytes))."""

    def __init__(self, v1=None, catalog=None):
        self.v1 = v1 or (lambda q: (404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}'))
        self.catalog = catalog or (lambda q: (200, {}, b'{"repositories":[]}'))
        self.requests: list[str] = []
        reg = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                reg.requests.append(self.path)
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                if u.path == "/v2/":
                    status, headers, body = 200, {}, b"{}"
                elif u.path == "/v1/search":
                    status, headers, body = reg.v1(q)
                elif u.path == "/v2/_catalog":
                    status, headers, body = reg.catalog(q)
                else:
                    status, headers, body = 404, {}, b""
                self.send_response(status)
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile():
    made = []

    def make(**kw):
        made.append(HostileRegistry(**kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


def v1_answer(results) -> callable:
    return lambda q: (200, {}, json.dumps({"num_results": len(results), "results": results}).encode())


def test_split_term_as_docker():
    assert split_term("busybox") == ("docker.io", "busybox")
    assert split_term("library/busybox") == ("docker.io", "library/busybox")
    assert split_term("localhost/x") == ("localhost", "x")
    assert split_term("reg.example:5000/a/b") == ("reg.example:5000", "a/b")
    with pytest.raises(InvalidArgument):
        split_term("http://reg/x")


def test_v1_search_results_are_checked(hostile):
    reg = hostile(v1=v1_answer([
        {"name": "good/one", "description": "fine", "star_count": 7, "is_official": True},
        {"name": "Bad Name", "description": "dropped"},
        {"name": "x\x1b[2Jy"},
        {"name": "../etc"},
        {"name": 5},
        "a string",
        {"name": "a" * 300},
        {"name": "stars/odd", "star_count": "12", "is_official": "yes"},
        {"name": "stars/bool", "star_count": True},
        {"name": "long/desc", "description": "d" * 100000},
        {"name": "bad/desc", "description": ["x"]},
    ]))
    found = search(f"{reg.host}/any", 25)
    assert [r["name"] for r in found] == ["good/one", "stars/odd", "stars/bool", "long/desc"]
    assert found[0] == {"name": "good/one", "description": "fine", "star_count": 7, "is_official": True,
                        "is_automated": False}
    assert found[1]["star_count"] == 0 and found[1]["is_official"] is False
    assert found[2]["star_count"] == 0
    assert len(found[3]["description"]) == rs.MAX_DESCRIPTION
    assert reg.requests[-1] == "/v1/search?q=any&n=25"


@pytest.mark.parametrize("body, words", [
    (b"not json", "not JSON"),
    (b"[" * 100000 + b"]" * 100000, "not JSON"),
    (b"[]", "without a list of results"),
    (b'{"results": {"a": 1}}', "without a list of results"),
    (b'{"results": null}', "without a list of results"),
])
def test_v1_search_bad_answers_are_one_line(hostile, body, words):
    reg = hostile(v1=lambda q: (200, {}, body))
    with pytest.raises(RegistryError) as e:
        search(f"{reg.host}/x", 25)
    assert words in e.value.message and "\n" not in e.value.message


def test_v1_search_huge_answer_refused(hostile, monkeypatch):
    monkeypatch.setattr(rs, "MAX_ANSWER_BYTES", 1000)
    reg = hostile(v1=lambda q: (200, {}, b'{"results": [' + b'{"name":"a"},' * 200 + b'{"name":"b"}]}'))
    with pytest.raises(RegistryError) as e:
        search(f"{reg.host}/x", 25)
    assert "larger than 1000 bytes" in e.value.message


def test_v1_search_more_results_than_asked_are_cut(hostile):
    reg = hostile(v1=v1_answer([{"name": f"r/n{i}"} for i in range(500)]))
    assert len(search(f"{reg.host}/x", 3)) == 3


def test_catalog_fallback_matches_and_pages(hostile):
    names = [f"repo{i:03d}" for i in range(250)] + ["zz/web"]

    def catalog(q):
        n, last = int(q.get("n", 100)), q.get("last", "")
        after = [x for x in names if x > last][:n]
        more = after and after[-1] != names[-1]
        return 200, ({"Link": f'</v2/_catalog?last={after[-1]}&n={n}>; rel="next"'} if more else {}), \
            json.dumps({"repositories": after}).encode()
    reg = hostile(catalog=catalog)
    found = search(f"{reg.host}/WEB", 25)
    assert [r["name"] for r in found] == [f"{reg.host}/zz/web"]
    assert [p for p in reg.requests if p.startswith("/v2/_catalog")] == [
        "/v2/_catalog?n=100", "/v2/_catalog?n=100&last=repo099", "/v2/_catalog?n=100&last=repo199"]
    # the limit stops the listing early
    reg.requests.clear()
    assert len(search(f"{reg.host}/repo", 5)) == 5
    assert len([p for p in reg.requests if p.startswith("/v2/_catalog")]) == 1


def test_catalog_that_never_ends_is_bounded(hostile, monkeypatch):
    """Each page moves on (new names) and promises another: stopped after MAX_CATALOG_PAGES."""
    monkeypatch.setattr(rs, "MAX_CATALOG_PAGES", 7)
    count = []

    def catalog(q):
        count.append(1)
        base = q.get("last", "a")
        return 200, {"Link": "<next>"}, json.dumps({"repositories": [base + "a", base + "b"]}).encode()
    reg = hostile(catalog=catalog)
    assert search(f"{reg.host}/nomatch", 25) == []
    assert len(count) == 7


def test_catalog_that_repeats_a_page_stops(hostile):
    count = []

    def catalog(q):
        count.append(1)
        return 200, {"Link": "<next>"}, b'{"repositories": ["b", "a"]}'
    reg = hostile(catalog=catalog)
    assert [r["name"] for r in search(f"{reg.host}/a", 25)] == [f"{reg.host}/a"]
    assert len(count) == 2  # the second page did not move past "b": no third


@pytest.mark.parametrize("body, words", [
    (b"{", "not JSON"),
    (b'{"repositories": "all"}', "without a list of repositories"),
    (b'["a"]', "without a list of repositories"),
])
def test_catalog_bad_pages_are_one_line(hostile, body, words):
    reg = hostile(catalog=lambda q: (200, {}, body))
    with pytest.raises(RegistryError) as e:
        search(f"{reg.host}/x", 25)
    assert words in e.value.message


def test_catalog_drops_names_that_are_not_repository_names(hostile):
    names = ["ok/name", "evil\x1b]0;pwned\x07", "UPPER", "a/../b", "", None, 7, {"a": 1}, "x" * 300]
    reg = hostile(catalog=lambda q: (200, {}, json.dumps({"repositories": names}).encode()))
    assert [r["name"] for r in search(f"{reg.host}/", 25)] == [f"{reg.host}/ok/name"]


def test_catalog_errors(hostile):
    reg = hostile(catalog=lambda q: (401, {}, b""))
    with pytest.raises(RegistryError) as e:
        search(f"{reg.host}/x", 25)
    assert "authentication required" in e.value.message
    reg = hostile(v1=lambda q: (500, {}, b"boom"))
    with pytest.raises(RegistryError) as e:
        search(f"{reg.host}/x", 25)
    assert "HTTP 500" in e.value.message


def test_hub_unreachable_is_one_line(monkeypatch):
    def no_dns(*a, **kw):
        raise OSError(-2, "Name or service not known")
    monkeypatch.setattr(rs.socket, "getaddrinfo", no_dns)
    with pytest.raises(RegistryError) as e:
        search("busybox", 25)
    assert e.value.message == ("cannot search Docker Hub (index.docker.io): cannot resolve index.docker.io: "
                               "Name or service not known; to search a registry, give HOST[:PORT]/WORDS")


def test_resolver_that_hangs_is_bounded(monkeypatch):
    stop = threading.Event()
    monkeypatch.setattr(rs.socket, "getaddrinfo", lambda *a, **kw: stop.wait(30))
    monkeypatch.setattr(rs, "RESOLVE_TIMEOUT", 0.2)
    try:
        with pytest.raises(RegistryError) as e:
            search("registry.example:5000/x", 25)
        assert e.value.message == "cannot search registry.example:5000: cannot resolve registry.example: no answer in 0.2 s"
    finally:
        stop.set()


def test_engine_filters_and_limits(hostile):
    reg = hostile(v1=v1_answer([{"name": "a/x", "star_count": 3, "is_official": True},
                                {"name": "b/x", "star_count": 10}, {"name": "c/x"}]))
    names = lambda **kw: [r.name for r in engine_search(f"{reg.host}/x", **kw)]  # noqa: E731
    assert names() == ["a/x", "b/x", "c/x"]
    assert names(filters=["stars=3"]) == ["a/x", "b/x"]
    assert names(filters=["stars=3", "stars=5"]) == ["b/x"]  # the largest, as Docker
    assert names(filters=["is-official=true"]) == ["a/x"]
    assert names(filters=["is-official=0"]) == ["b/x", "c/x"]
    assert names(filters={"is-automated": ["true"]}) == []
    assert names(filters={"is-automated": ["false"]}) == ["a/x", "b/x", "c/x"]
    for bad in (["stars=x"], ["nope=1"], ["is-official=2"], {"stars": 5}):
        with pytest.raises(InvalidArgument):
            engine_search(f"{reg.host}/x", filters=bad)
    for limit in (-1, 101):
        with pytest.raises(InvalidArgument):
            engine_search(f"{reg.host}/x", limit=limit)
    assert "/v1/search?q=x&n=25" in reg.requests


def test_table_escapes_what_a_registry_sends():
    from sampan.cli.formatters import SearchContext
    from sampan.cli.gotemplate.docker import render
    from sampan.engine.reports import SearchResult
    rows = [SearchResult("a/b", "evil\x1b[31mred\x07 \u202e rtl\nnext", 5, True),
            SearchResult("c/d", "x" * 60)]
    out = render(SearchContext.DEFAULT, [SearchContext(r) for r in rows], SearchContext.HEADER)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert lines[1].startswith("a/b") and "evil\\x1b[31mred\\x07 \\u202e rtl next" in lines[1]
    assert lines[1].rstrip().endswith("5         [OK]")
    assert ("x" * 44 + "…") in lines[2] and "x" * 45 not in lines[2]
    full = render(SearchContext.DEFAULT, [SearchContext(rows[1], trunc=False)], SearchContext.HEADER)
    assert "x" * 60 in full
