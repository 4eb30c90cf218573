"""`stats`: a live table of containers' CPU, memory, network, block IO and pids, as
Docker prints it (refreshed each second; `--no-stream` prints one table and exits)."""

from __future__ import annotations

import sys
import time

from sampan.cli.output import binary_size, human_size

HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"


def row(s: dict) -> dict:
    """One stats JSON as the fields Docker's `stats --format` knows."""
    name = (s.get("name") or "").lstrip("/")
    cid = s.get("id", "")
    base = {"Container": name or cid[:12], "ID": cid[:12], "Name": name}
    if s.get("read", "").startswith("0001-"):  # not running
        return {**base, "CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%",
                "NetIO": "0B / 0B", "BlockIO": "0B / 0B", "PIDs": "0"}
    cpu, pre = s["cpu_stats"], s.get("precpu_stats") or {}
    d_cpu = cpu["cpu_usage"]["total_usage"] - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    d_sys = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    perc = d_cpu / d_sys * cpu.get("online_cpus", 1) * 100 if d_sys > 0 and d_cpu > 0 else 0.0
    mem = s.get("memory_stats") or {}
    stats = mem.get("stats") or {}
    usage = mem.get("usage", 0)
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    if inactive < usage:
        usage -= inactive
    limit = mem.get("limit", 0)
    nets = (s.get("networks") or {}).values()
    rx, tx = sum(n["rx_bytes"] for n in nets), sum(n["tx_bytes"] for n in nets)
    io = s.get("blkio_stats", {}).get("io_service_bytes_recursive") or []
    rd = sum(e["value"] for e in io if e["op"].lower() == "read")
    wr = sum(e["value"] for e in io if e["op"].lower() == "write")
    return {**base, "CPUPerc": f"{perc:.2f}%", "MemUsage": f"{binary_size(usage)} / {binary_size(limit)}",
            "MemPerc": f"{usage / limit * 100 if limit else 0:.2f}%", "NetIO": f"{human_size(rx)} / {human_size(tx)}",
            "BlockIO": f"{human_size(rd)} / {human_size(wr)}", "PIDs": str((s.get("pids_stats") or {}).get("current", 0))}


def render(fmt: str, rows: list[dict]) -> str:
    """Docker's stats formatter: Go templates over its statsContext; `table` has headers."""
    from sampan.cli.formatters import StatsContext
    from sampan.cli.gotemplate.docker import render as render_template
    return render_template(DEFAULT if fmt == "table" else fmt, [StatsContext(r) for r in rows], HEADERS)


def main(command: str, argv: list[str], g) -> int:
    from sampan.cli.args import Parser
    from sampan.errors import ContainerNotFound, SampanError
    p = Parser("stats", "Display a live stream of container(s) resource usage statistics")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("--no-stream", action="store_true", help="Disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Name}} {{.CPUPerc}}')")
    p.add_argument("containers", nargs="*")
    ns = p.parse_args(argv)
    engine = g.engine()
    fmt = ns.format or DEFAULT
    from sampan.cli.gotemplate.docker import parse
    parse(DEFAULT if fmt == "table" else fmt)  # a bad template fails before the first sample
    named = list(ns.containers)

    def targets() -> list[str]:
        if named:
            return named
        from sampan.engine.options import ListOptions
        return [s.id for s in engine.containers.list(ListOptions(all=ns.all))]

    prev: dict[str, dict] = {}
    errors: list[str] = []

    def take() -> list[dict]:
        out = []
        for ref in targets():
            try:
                s = engine.stats(ref, prev.get(ref))
            except ContainerNotFound as e:
                if named:
                    errors.append(e.message)
                continue
            except SampanError as e:
                errors.append(e.message)
                continue
            prev[ref] = s
            out.append(s)
        return out

    take()  # the first sample: CPU % needs an interval
    if errors:
        for e in errors:
            sys.stderr.write(f"sampan: {e}\n")
        return 1
    time.sleep(0.5 if ns.no_stream else 1.0)
    tty = sys.stdout.isatty()
    while True:
        samples = take()
        rows = [row(s) for s in samples]
        if ns.no_trunc:
            for r, s in zip(rows, samples):
                r["ID"] = s["id"]
        text = render(fmt, rows)
        if ns.no_stream:
            sys.stdout.write(text)
            return 0
        sys.stdout.write(("\033[2J\033[H" if tty else "") + text)
        sys.stdout.flush()
        time.sleep(1.0)
