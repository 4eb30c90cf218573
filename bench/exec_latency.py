#!/usr/bin/env python3
"""`exec CONTAINER true` latency, median of N after 3 runs not counted: sampan native (and
with CAP_SYS_PTRACE, where the joiner runs from a sealed copy of the interpreter), runc;
through the zygote and in-process; Docker beside it when its daemon runs. Prints a
table; asserts nothing."""

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
        boxes = (("native", "ex-native", [], []),
                 ("native, --cap-add SYS_PTRACE", "ex-ptrace", [], ["--cap-add", "SYS_PTRACE"]),
                 ("runc", "ex-runc", ["--runtime", "runc"], []))
        for _, name, glob, extra in boxes:
            subprocess.run(b.argv(*glob, "run", "-d", "--name", name, "--network", "none", *extra,
                                  "busybox", "sleep", "3600"), check=True, env=no_zygote, capture_output=True)
        t = timed(b.argv("exec", "ex-native", "true"), ns.n, env=no_zygote, warmup=3)
        rows.append(("sampan native, in-process (cold CLI)", median_ms(t), min(t) * 1000))
        subprocess.run(b.argv("ps"), check=True, capture_output=True)  # starts the zygote
        if not b.wait_for_zygote():
            print("warning: no zygote started; the rows below run in-process")
        for label, name, _, _ in boxes:
            t = timed(b.argv("exec", name, "true"), ns.n, warmup=3)
            rows.append((f"sampan {label}", median_ms(t), min(t) * 1000))
        if docker_available():
            docker_import_busybox(tar)
            subprocess.run(["docker", "run", "-d", "--name", "sampan-bench-exec", "--network", "none",
                            "sampan-bench-busybox", "sleep", "3600"], check=True, capture_output=True)
            try:
                t = timed(["docker", "exec", "sampan-bench-exec", "true"], ns.n, warmup=3)
                rows.append(("docker", median_ms(t), min(t) * 1000))
            finally:
                subprocess.run(["docker", "rm", "-f", "sampan-bench-exec"], capture_output=True)
        else:
            rows.append(("docker (daemon not running: not measured)", float("nan"), float("nan")))
    finally:
        b.close()
    print(f"exec CONTAINER true, median of {ns.n} ({env_note()})")
    for label, med, best in rows:
        print(f"  {label:<44} median {med:7.1f} ms   best {best:7.1f} ms")


if __name__ == "__main__":
    main()
