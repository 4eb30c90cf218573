#!/usr/bin/env python3
"""`run --rm IMG true` latency, median of N after 3 runs not counted (a warm zygote, as
Docker's daemon is warm): sampan (native, runc; no network, bridge) side by side with
Docker when its daemon is running. Prints a table; asserts nothing."""

from __future__ import annotations

import argparse
import os
import subprocess

from common import SampanBench, docker_available, docker_import_busybox, env_note, median_ms, timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20)
    ns = ap.parse_args()
    b = SampanBench()
    rows = []
    try:
        tar = b.import_busybox()
        no_zygote = dict(os.environ, SAMPAN_NO_ZYGOTE="1")
        subprocess.run(b.argv("run", "--rm", "busybox", "true"), check=True, env=no_zygote)  # unpack
        t = timed(b.argv("run", "--rm", "--network", "none", "busybox", "true"), ns.n, env=no_zygote)
        rows.append(("sampan native, none, in-process (cold CLI)", median_ms(t), min(t) * 1000))
        subprocess.run(b.argv("run", "--rm", "busybox", "true"), check=True)  # starts the zygote
        if not b.wait_for_zygote():
            print("warning: no zygote started; the rows below run in-process")
        for label, extra in (("sampan native, --network none", ["--network", "none"]),
                             ("sampan runc,   --network none", ["--runtime", "runc", "--network", "none"]),
                             ("sampan native, bridge (default)", []),
                             ("sampan native, bridge + -p", ["-p", "80"])):
            t = timed(b.argv("run", "--rm", *extra, "busybox", "true"), ns.n, warmup=3)
            rows.append((label, median_ms(t), min(t) * 1000))
        # what asking for the steps costs (printer process, lines from every process)
        t = timed(b.argv("--explain", "run", "--rm", "--network", "none", "busybox", "true"), ns.n, warmup=3)
        rows.append(("sampan native, --network none, --explain", median_ms(t), min(t) * 1000))
        if docker_available():
            docker_import_busybox(tar)
            for label, extra in (("docker, --network none", ["--network", "none"]),
                                 ("docker, bridge (default)", [])):
                t = timed(["docker", "run", "--rm", *extra, "sampan-bench-busybox", "true"], ns.n, warmup=3)
                rows.append((label, median_ms(t), min(t) * 1000))
        else:
            rows.append(("docker (daemon not running: not measured)", float("nan"), float("nan")))
    finally:
        b.close()
    print(f"run --rm busybox true, median of {ns.n} ({env_note()})")
    for label, med, best in rows:
        print(f"  {label:<44} median {med:7.1f} ms   best {best:7.1f} ms")


if __name__ == "__main__":
    main()
