#!/usr/bin/env python3
"""Memory cost of idle detached containers: the machine's used-memory growth over N idle
`sleep` containers, divided by N (sampan, and Docker when its daemon runs). Asserts nothing."""

from __future__ import annotations

import argparse
import subprocess
import time

from common import SampanBench, docker_available, docker_import_busybox, env_note, mem_used_kib


def _measure(start_one, stop_all, n: int) -> float:
    subprocess.run(["sync"])
    time.sleep(1)
    before = mem_used_kib()
    for _ in range(n):
        start_one()
    time.sleep(3)
    after = mem_used_kib()
    stop_all()
    return (after - before) / n / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20)
    ns = ap.parse_args()
    b = SampanBench()
    rows = []
    try:
        tar = b.import_busybox()
        for net in ("none", "bridge"):
            mib = _measure(lambda: b.run("run", "-d", "--network", net, "busybox", "sleep", "100000"),
                           lambda: b.run("rm", "-f", *b.run("ps", "-q").split()), ns.n)
            rows.append((f"sampan, --network {net}", mib))
        if docker_available():
            docker_import_busybox(tar)
            ids = []

            def start():
                ids.append(subprocess.run(["docker", "run", "-d", "sampan-bench-busybox", "sleep", "100000"],
                                          capture_output=True, text=True, check=True).stdout.strip())
            mib = _measure(start, lambda: subprocess.run(["docker", "rm", "-f", *ids], capture_output=True), ns.n)
            rows.append(("docker, bridge", mib))
        else:
            rows.append(("docker (daemon not running: not measured)", float("nan")))
    finally:
        b.close()
    print(f"idle detached containers, used-memory growth / {ns.n} ({env_note()})")
    for label, mib in rows:
        print(f"  {label:<44} {mib:6.2f} MiB per container")


if __name__ == "__main__":
    main()
