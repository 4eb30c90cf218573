"""`search`: a registry's repositories matching some words, as `docker search` prints them."""

from __future__ import annotations

from sampan.cli.args import Parser, int64


def main(command: str, argv: list[str], g) -> int:
    p = Parser("search", "Search a registry for images: HOST[:PORT]/WORDS (a registry without "
               "/v1/search: the names of its catalog that contain WORDS), or WORDS on Docker Hub")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="Filter output: stars=N, is-official=true|false, is-automated=true|false")
    p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Name}}')")
    p.add_argument("--limit", type=int64, default=0, help="Max number of search results (1-100; default 25)")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--tls-verify", nargs="?", const="true", default=None,
                   help="Require HTTPS with a verified certificate (false allows plain HTTP)")
    p.add_argument("term")
    ns = p.parse_args(argv)
    from sampan.cli.commands.registry import _tls
    tls = _tls(ns.tls_verify)
    if any(f.partition("=")[0] == "is-automated" for f in ns.filter):
        import sys
        sys.stderr.write('WARNING: the "is-automated" filter is deprecated, and searching for '
                         '"is-automated=true" will not yield any results in future.\n')
    results = g.engine().images.search(ns.term, ns.limit, ns.filter, tls)
    from sampan.cli.formatters import SearchContext
    from sampan.cli.output import write_formatted
    write_formatted(ns.format or "table", [SearchContext(r, trunc=not ns.no_trunc) for r in results],
                    SearchContext)
    return 0
