#!/usr/bin/env python3
"""Time to first byte from a published port after `run -d`: from starting the command
until a GET on 127.0.0.1:PORT answers (busybox httpd in the container). Median of N,
side by side with Docker when its daemon runs. Asserts nothing."""

from __future__ import annotations

import argparse
import subprocess
import time
import urllib.request

from common import SampanBench, docker_available, docker_import_busybox, env_note, median_ms
from tests.support.net import free_port  # importable: common put the repo on sys.path


def _ttfb(start_argv: list[str], port: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(start_argv, check=True, capture_output=True)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                r.read(1)
            return time.perf_counter() - t0
        except OSError:
            if time.perf_counter() - t0 > 20:
                raise SystemExit(f"no answer on port {port} after 20 s")
            time.sleep(0.002)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=10)
    ns = ap.parse_args()
    b = SampanBench()
    rows = []
    cmd = ["sh", "-c", "echo hi > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
    try:
        tar = b.import_busybox()
        b.run("run", "--rm", "busybox", "true")  # unpack, first bridge, start the zygote
        b.wait_for_zygote()
        times = []
        for i in range(ns.n):
            port = free_port()
            times.append(_ttfb(b.argv("run", "-d", "--name", f"ttfb{i}", "-p", f"{port}:80", "busybox", *cmd), port))
            b.run("rm", "-f", f"ttfb{i}")
        rows.append(("sampan run -d -p PORT:80 ... httpd", median_ms(times)))
        if docker_available():
            docker_import_busybox(tar)
            times = []
            for i in range(ns.n):
                port = free_port()
                times.append(_ttfb(["docker", "run", "-d", "--name", f"sampan-ttfb{i}", "-p", f"{port}:80",
                                    "sampan-bench-busybox", *cmd], port))
                subprocess.run(["docker", "rm", "-f", f"sampan-ttfb{i}"], capture_output=True)
            rows.append(("docker run -d -p PORT:80 ... httpd", median_ms(times)))
        else:
            rows.append(("docker (daemon not running: not measured)", float("nan")))
    finally:
        b.close()
    print(f"time to first byte after run -d, median of {ns.n} ({env_note()})")
    for label, med in rows:
        print(f"  {label:<44} {med:7.1f} ms")


if __name__ == "__main__":
    main()
