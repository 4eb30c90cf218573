"""`events`: the engine's events, past (--since/--until) and as they happen."""

from __future__ import annotations

import sys
import time


def line(ev: dict) -> str:
    """Docker's default line: local time with nanoseconds, type, action, actor, attributes."""
    ns = ev.get("timeNano") or ev.get("time", 0) * 1_000_000_000
    sec, frac = divmod(ns, 1_000_000_000)
    lt = time.localtime(sec)
    off = lt.tm_gmtoff
    zone = "Z" if off == 0 else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", lt) + f".{frac:09d}" + zone
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    text = f"{stamp} {ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}"
    if attrs:
        text += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return text


def main(command: str, argv: list[str], g) -> int:
    from sampan.cli.args import Parser
    p = Parser("events", "Get real time events from the server")
    p.add_argument("--since", help="Show all events created since timestamp (Unix time, RFC 3339, or a "
                                   "duration such as 10m)")
    p.add_argument("--until", help="Stream events until this timestamp")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="Filter output (type=, container=, image=, event=, label=, network=, volume=)")
    p.add_argument("--format", help="Format the output: 'json' or a Go template ('{{.Type}} {{.Action}}')")
    ns = p.parse_args(argv)
    tmpl = None
    if ns.format:  # Docker's events.Message; checked before the stream starts
        from sampan.cli.formatters import EventContext
        from sampan.cli.gotemplate.docker import parse
        tmpl = parse(ns.format)
    events = g.engine().events(ns.since, ns.until, ns.filter)
    out = sys.stdout
    for ev in events:
        if tmpl is not None:  # `json` too: Go's encoding of the struct, fields in its order
            from sampan.cli.gotemplate import TemplateExecError
            from sampan.errors import SampanError
            try:
                out.write(tmpl.execute(EventContext(ev)) + "\n")
            except TemplateExecError as e:
                raise SampanError(f"template parsing error: {e}", exit_code=1) from None
        else:
            out.write(line(ev) + "\n")
        out.flush()
    return 0
