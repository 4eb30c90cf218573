#!/usr/bin/env python3
"""What restart policies and healthchecks cost an idle container's monitor: its PSS with
no healthcheck, with one that is not due (interval 1h), with one every second, and the
monitor of a container in a crash loop (`--restart always`) while it waits its delay.
Also the CPU time of a probe (a fresh interpreter + one exec). Asserts nothing."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from common import SampanBench, env_note, pss_kib


def _monitor_of(b: SampanBench, name: str) -> int:
    """The process holding the container's monitor.log: its monitor in any phase."""
    log = str(b.root / "containers" / json.loads(b.run("inspect", name))[0]["Id"] / "monitor.log")
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/fd/2") == log:
                    return int(pid)
            except OSError:
                pass
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=5)
    ns = ap.parse_args()
    b = SampanBench()
    rows = []
    try:
        b.import_busybox()
        variants = {"no healthcheck": [], "healthcheck not due (1h)": ["--health-cmd", "true", "--health-interval", "1h"],
                    "healthcheck every 1s": ["--health-cmd", "true", "--health-interval", "1s"]}
        for label, flags in variants.items():
            names = [f"m{i}" for i in range(ns.n)]
            for name in names:
                b.run("run", "-d", "--network", "none", "--name", name, *flags, "busybox", "sleep", "100000")
            time.sleep(3)
            rows.append((label, statistics.median(pss_kib(_monitor_of(b, n)) / 1024 for n in names)))
            b.run("rm", "-f", *names)
        b.run("run", "-d", "--network", "none", "--name", "loop", "--restart", "always", "busybox", "false")
        while json.loads(b.run("inspect", "loop"))[0]["RestartCount"] < 6:  # delays 1.6 s and up from here
            time.sleep(0.1)
        samples = []
        deadline = time.monotonic() + 20
        while len(samples) < 5 and time.monotonic() < deadline:
            if json.loads(b.run("inspect", "loop"))[0]["State"]["Restarting"]:
                samples.append(pss_kib(_monitor_of(b, "loop")) / 1024)
            time.sleep(0.2)
        rows.append(("crash loop, in its restart delay", statistics.median(samples) if samples else float("nan")))
        b.run("rm", "-f", "loop")
    finally:
        b.close()
    print(f"monitor PSS, median of {ns.n} containers ({env_note()})")
    for label, mib in rows:
        print(f"  {label:<36} {mib:6.2f} MiB")


if __name__ == "__main__":
    main()
