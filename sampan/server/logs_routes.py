"""/containers/{id}/logs: a container's log, framed as Docker frames it (raw with a tty).

The log is read (and followed) in a child; a client that hangs up cancels the
request, which kills the child at once (children.py)."""

from __future__ import annotations

import time

from sampan.server import streams
from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request
from sampan.server.router import Routes
from sampan.server.routes_common import race_client, ref_of

routes = Routes()
BATCH = 512  # log lines per message from the child while it reads what is written already


def rfc3339(stamp: str, name: str) -> str | None:
    """Docker's since/until (unix seconds, maybe with a fraction) in the log's own time format,
    which compares as a string. None for 0 or empty: no bound."""
    if not stamp:
        return None
    try:
        sec_s, _, frac = stamp.partition(".")
        sec = int(sec_s)
        if frac and not frac.isdigit():
            raise ValueError
    except ValueError:
        raise ApiError(400, f"invalid value for {name}: {stamp!r} is not a unix timestamp") from None
    if sec <= 0 and not frac.strip("0"):
        return None
    if not 0 <= sec < 253402300800:  # before year 10000
        raise ApiError(400, f"invalid value for {name}: {stamp!r} is out of range")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + "." + (frac + "0" * 9)[:9] + "Z"


def _logs(engine, emit, ref: str, follow: bool, tail: int | None, since: str | None, until: str | None,
          details: bool = False):
    """In the child: the container's tty flag, then its log records in batches."""
    rec = engine.container(ref)
    # what is written already is read before the client hears the head: docker-py's run asks
    # for the logs, then waits for the exit and removes the container, then reads them
    records = engine.logs(ref, tail=tail, follow=follow, details=details)
    emit(bool(rec.config.get("tty")))
    batch = []
    for r in records:
        t = r.get("time", "")
        if since is not None and t < since:
            continue
        if until is not None and t > until:
            if not follow:
                continue
            break
        batch.append((streams.STDERR if r.get("stream") == "stderr" else streams.STDOUT, r["log"], t))
        if len(batch) >= BATCH or follow:
            emit(batch)
            batch = []
    if batch:
        emit(batch)


@routes.get("/containers/{id}/logs")
async def logs(req: Request) -> Reply | None:
    want = (req.q_bool("stdout"), req.q_bool("stderr"))
    if not any(want):
        raise ApiError(400, "you must choose at least one stream")
    tail_s = req.q("tail", "all") or "all"
    if tail_s == "all":
        tail = None
    else:
        try:
            tail = int(tail_s)
        except ValueError:
            raise ApiError(400, f"invalid value for tail: {tail_s!r} is not a number or \"all\"") from None
        tail = None if tail < 0 else tail
    since, until = rfc3339(req.q("since") or "", "since"), rfc3339(req.q("until") or "", "until")
    stamps = req.q_bool("timestamps")
    items = req.stream(_logs, ref_of(req), req.q_bool("follow"), tail, since, until, req.q_bool("details"))
    try:
        tty = await items.__anext__()  # 404 before any byte of the stream
        stream = await req.conn.start_stream(streams.content_type(tty))

        async def pump() -> None:
            async for batch in items:
                out = bytearray()
                for kind, line, t in batch:
                    if not want[kind - 1]:
                        continue
                    data = (t + " " + line).encode() if stamps else line.encode()
                    out += data if tty else streams.frame(kind, data)
                await stream.write(bytes(out))
            await stream.end()

        await race_client(req, pump())
    finally:
        await items.aclose()
    return None
