"""Docker's JSON message stream (pull, push, load, import, build progress).

Each line of the response body is one JSONMessage: {"status", "id", "progressDetail",
"progress"} for pull/push steps, {"stream": text} for build output and loads,
{"aux": {...}} for a result (the built image's id), and {"errorDetail": {"message"},
"error"} when the work failed after the 200 was sent (the CLI prints it and exits 1).

The 200 goes out only once the child has emitted its first item: a failure before
that (an unknown image, a bad Dockerfile name) is a plain HTTP error the client
prints as one line.
"""

from __future__ import annotations

from typing import Any, AsyncGenerator, Callable

from sampan.engine.reports import BuildEvent, ProgressEvent
from sampan.server.errors import ApiError
from sampan.server.routes_common import race_client


def progress_message(ev: ProgressEvent) -> dict:
    msg: dict = {"status": ev.status}
    if ev.id:
        msg["id"] = ev.id
    if ev.current is not None:
        detail = {"current": ev.current}
        if ev.total:
            detail["total"] = ev.total
        msg["progressDetail"] = detail
        msg["progress"] = _bar(ev.current, ev.total)
    else:
        msg["progressDetail"] = {}
    return msg


def _bar(current: int, total: int | None) -> str:
    if not total:
        return f"{_size(current)}"
    done = min(50, current * 50 // total)
    return f"[{'=' * done}{'>' if done < 50 else ''}{' ' * max(0, 49 - done)}] {_size(current)}/{_size(total)}"


def _size(n: int | float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000
    return f"{n}"


class BuildLines:
    """BuildEvents as the classic builder's {"stream": ...} lines: "Step 2/3 : RUN make",
    the step's output, " ---> Using cache". The builder's own bookkeeping steps
    ([internal] loads, exporting) are not shown, as Docker's classic builder has none."""

    def __init__(self) -> None:
        self._hidden: set[int] = set()

    def __call__(self, ev: BuildEvent) -> list[dict]:
        if ev.kind == "step":
            label, sep, rest = ev.text.partition("] ")
            if not ev.text.startswith("[") or not sep or label.startswith("[internal"):
                self._hidden.add(ev.step)
                return []
            return [stream_message(f"Step {label[1:]} : {rest}\n")]
        if ev.step in self._hidden:
            return []
        if ev.kind == "output":
            return [stream_message(ev.text + "\n")]
        if ev.kind == "cached":
            return [stream_message(" ---> Using cache\n")]
        if ev.kind == "note":
            return [stream_message(f" ---> {ev.text}\n")]
        if ev.kind == "message":
            return [stream_message(ev.text if ev.text.endswith("\n") else ev.text + "\n")]
        return []  # done; error: the errorDetail that ends the stream says it


def stream_message(text: str) -> dict:
    return {"stream": text}


def error_message(message: str) -> dict:
    return {"errorDetail": {"message": message}, "error": message}


_END = object()


async def send_json_stream(req, items: AsyncGenerator[Any, None],
                           messages: Callable[[Any], list[dict]] = lambda m: [m]) -> None:
    try:
        try:
            first = await items.__anext__()
        except StopAsyncIteration:
            first = _END
        stream = await req.conn.start_stream("application/json")

        async def pump() -> None:
            try:
                if first is not _END:
                    for m in messages(first):
                        await stream.write_json(m)
                    async for item in items:
                        for m in messages(item):
                            await stream.write_json(m)
            except ApiError as e:
                await stream.write_json(error_message(e.message))
            await stream.end()

        await race_client(req, pump())
    finally:
        await items.aclose()
