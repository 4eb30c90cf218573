#!/usr/bin/env python3
"""Memory cost of idle detached containers: the machine's used-memory growth over N idle
`sleep` containers, divided by N, and the proportional memory (PSS) of their supervisors
(sampan's monitors, Docker's containerd-shims), for sampan and for Docker when its daemon
runs. Asserts nothing."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from common import SampanBench, docker_available, docker_import_busybox, env_note, mem_used_kib, pss_kib


def _drop_caches() -> None:
    """Page cache comes and goes on its own (this VM reclaims proactively): without a
    clean slate before each reading, the growth can even come out negative."""
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")
    except OSError:
        pass
    time.sleep(1)


def _measure(start_one, stop_all, n: int, supervisors, rounds: int = 3) -> tuple[float, float]:
    """Median over rounds of (used-memory growth / n, supervisors' PSS / n), in MiB."""
    growth, pss = [], []
    for _ in range(rounds):
        _drop_caches()
        before = mem_used_kib()
        for _ in range(n):
            start_one()
        time.sleep(3)
        _drop_caches()
        after = mem_used_kib()
        pss.append(sum(pss_kib(pid) for pid in supervisors()) / n / 1024)
        stop_all()
        growth.append((after - before) / n / 1024)
    return statistics.median(growth), statistics.median(pss)


def _pids_with(marker: str) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20)
    ns = ap.parse_args()
    b = SampanBench()
    rows = []
    try:
        tar = b.import_busybox()
        # a detached container's supervisor: sampan's lean monitor, Docker's containerd-shim
        monitors = lambda: _pids_with("monitor_loop import lean_main")  # noqa: E731
        for net in ("none", "bridge"):
            rows.append((f"sampan, --network {net}", *_measure(
                lambda: b.run("run", "-d", "--network", net, "busybox", "sleep", "100000"),
                lambda: b.run("rm", "-f", *b.run("ps", "-q").split()), ns.n, monitors)))
        if docker_available():
            docker_import_busybox(tar)
            ids = []

            def start():
                ids.append(subprocess.run(["docker", "run", "-d", "sampan-bench-busybox", "sleep", "100000"],
                                          capture_output=True, text=True, check=True).stdout.strip())

            def stop():
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
                ids.clear()
            rows.append(("docker, bridge", *_measure(start, stop, ns.n,
                                                     lambda: _pids_with("containerd-shim"))))
        else:
            rows.append(("docker (daemon not running: not measured)", float("nan"), float("nan")))
    finally:
        b.close()
    print(f"idle detached containers, median of 3 rounds of {ns.n} ({env_note()})")
    print(f"  {'':<36} {'used-memory growth':>20} {'supervisor PSS':>16}")
    for label, mib, pss in rows:
        print(f"  {label:<36} {mib:11.2f} MiB each {pss:10.2f} MiB each")


if __name__ == "__main__":
    main()
