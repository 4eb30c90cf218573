#!/usr/bin/env python3
"""Many idle detached containers: how the per-container verbs and memory scale.

Starts idle `sleep` containers on the default bridge network in steps (10, 100, 1000 by
default) and at each step prints: the time to start the containers of that step (per
container), `run -d` of one more (median), `ps` and `ps -a`, `inspect` of one, `stop` of
one (a container that exits on SIGTERM), the machine's used-memory growth per container
and the PSS of the containers' monitors and processes per container. Then `rm -f` of all
of them in one command, and a check that nothing of them is left (processes, mounts,
cgroups, veths, network namespaces, iptables rules). Asserts nothing.

With --docker, the same steps against a dockerd of the bench's own (api_run.Dockerd:
temporary data and exec roots, no iptables), after sampan's, so the two never share the
machine; memory per container for Docker is the used-memory growth and the PSS of each
container's containerd-shim and processes.

    .venv/bin/python bench/scale.py [--steps 10,100,1000] [-n 5] [--docker [--docker-steps 10,100]]

Uses ~3 MiB per container and one bridge port each (a Linux bridge takes 1024).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import SampanBench, env_note, mem_used_kib, pss_kib

IDLE = ["busybox", "sleep", "1000000"]
STOPPABLE = ["busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]


def _drop_caches() -> None:
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")
    except OSError:
        pass
    time.sleep(1)


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _cgroup_pids(cid: str) -> list[int]:
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        try:
            with open(f"{base}/sampan/{cid}/cgroup.procs") as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            continue
    return []


def _pids(b: SampanBench) -> list[tuple[int, int]]:
    """(container pid, monitor pid) of every container, from the engine's records."""
    import sqlite3
    conn = sqlite3.connect(b.root / "sampan.db")
    try:
        return conn.execute("SELECT pid, monitor_pid FROM containers WHERE state='running'").fetchall()
    finally:
        conn.close()


def _leftovers(b: SampanBench, ids: list[str], spare_netns: set[str]) -> dict[str, int]:
    """What is left of the removed containers on the host (all should be 0)."""
    mounts = sum(1 for line in open("/proc/self/mountinfo") if any(cid in line for cid in ids))
    cgroups = sum(1 for cid in ids if any(os.path.isdir(f"{p}/sampan/{cid}") for p in
                                          ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup")))
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    rule_count = sum(1 for line in rules.splitlines() if any(cid in line for cid in ids))
    netns_dir = b.runroot / "netns"
    netns = len(set(os.listdir(netns_dir)) - spare_netns) if netns_dir.is_dir() else 0
    dirs = sum(1 for cid in ids if (b.root / "containers" / cid).exists())
    trash = len([n for n in os.listdir(b.root / "tmp") if n.startswith("trash-")])
    import sqlite3
    conn = sqlite3.connect(b.root / "sampan.db")
    try:
        records = conn.execute("SELECT COUNT(*) FROM containers").fetchone()[0]
        attachments = conn.execute("SELECT COUNT(*) FROM net_attachments WHERE state!='spare'").fetchone()[0]
    finally:
        conn.close()
    return {"mounts": mounts, "cgroups": cgroups, "iptables rules": rule_count, "netns": netns,
            "container dirs": dirs, "trash dirs": trash, "records": records, "attachments": attachments}


class DockerTarget:
    """The same verbs against a private dockerd (api_run.Dockerd), busybox imported as sampan's."""

    def __init__(self) -> None:
        from api_run import start_dockerd
        self.d, _ = start_dockerd()

    def run(self, *args: str) -> str:
        p = self.d.docker(*args)
        if p.returncode != 0:
            raise SystemExit(f"docker {' '.join(args)} failed: {p.stderr.strip()}")
        return p.stdout

    def pss_each(self, ids: list[str]) -> float:
        """KiB per container: each container's shim (the parent of its init) and what runs under it."""
        from api_run import descendants
        pids = self.run("inspect", "-f", "{{.State.Pid}}", *ids).split()
        total = 0
        for pid in map(int, pids):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    shim = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            total += sum(pss_kib(p) for p in [shim, *descendants(shim)])
        return total / max(1, len(ids))

    def close(self) -> None:
        self.d.stop()


def _sampan_pss_each(b: SampanBench, ids: list[str]) -> float:
    pss = sum(pss_kib(m) for _, m in _pids(b))
    pss += sum(pss_kib(p) for cid in ids for p in _cgroup_pids(cid))
    return pss / max(1, len(ids))


def _series(run, pss_each, steps: list[int], n_samples: int, ids: list[str]) -> list[tuple]:
    """Containers started in steps; at each, the timed verbs and the memory per container.
    `run(*args)` is the engine's CLI, `pss_each(ids)` its PSS per container in KiB."""
    def timed(*args: str) -> tuple[float, str]:
        t0 = time.perf_counter()
        out = run(*args)
        return time.perf_counter() - t0, out

    _drop_caches()
    base_used = mem_used_kib()
    rows: list[tuple] = []
    for n in steps:
        t0 = time.perf_counter()
        while len(ids) < n:
            ids.append(run("run", "-d", *IDLE).strip())
        start_each = (time.perf_counter() - t0) / max(1, n - (rows[-1][0] if rows else 0))
        time.sleep(3)  # every monitor lean by now
        _drop_caches()
        used = (mem_used_kib() - base_used) / n / 1024
        pss = pss_each(ids) / 1024
        run_one, ps, ps_a, insp, stop = [], [], [], [], []
        for _ in range(n_samples):
            t, out = timed("run", "-d", *IDLE)
            run_one.append(t)
            run("rm", "-f", out.strip())
            ps.append(timed("ps")[0])
            ps_a.append(timed("ps", "-a")[0])
            insp.append(timed("inspect", ids[len(ids) // 2])[0])
            sid = run("run", "-d", *STOPPABLE).strip()
            time.sleep(0.3)  # its trap is set
            stop.append(timed("stop", sid)[0])
            run("rm", sid)
        rows.append((n, start_each * 1000, _median_ms(run_one), _median_ms(ps), _median_ms(ps_a),
                     _median_ms(insp), _median_ms(stop), used, pss, os.getloadavg()[0]))
        print(f"  ... {n} containers done", file=sys.stderr)
    return rows


def _print_rows(title: str, rows: list[tuple]) -> None:
    print(title)
    print(f"  {'N':>5} {'start/each':>10} {'run -d':>8} {'ps':>8} {'ps -a':>8} {'inspect':>8} {'stop':>8}"
          f" {'used/each':>10} {'PSS/each':>9} {'load':>5}")
    for n, start, run1, ps, ps_a, insp, stop, used, pss, load in rows:
        print(f"  {n:>5} {start:>8.1f}ms {run1:>6.1f}ms {ps:>6.1f}ms {ps_a:>6.1f}ms {insp:>6.1f}ms {stop:>6.1f}ms"
              f" {used:>6.2f}MiB {pss:>5.2f}MiB {load:>5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="10,100,1000")
    ap.add_argument("-n", type=int, default=5, help="samples per timed verb")
    ap.add_argument("--docker", action="store_true", help="then the same against a private dockerd")
    ap.add_argument("--docker-steps", help="Docker's steps (default: --steps)")
    ns = ap.parse_args()
    steps = [int(s) for s in ns.steps.split(",")]
    if ns.docker and subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0:
        raise SystemExit("scale: a dockerd runs already; its containers would blur the figures")
    b = SampanBench()
    rows = []
    ids: list[str] = []
    rm_all = settled = deleted = float("nan")
    left: dict[str, int] = {}
    try:
        b.import_busybox()
        b.run("run", "--rm", "busybox", "true")  # unpack, the bridge, the zygote
        b.wait_for_zygote()
        rows = _series(b.run, lambda ids: _sampan_pss_each(b, ids), steps, ns.n, ids)
        t0 = time.perf_counter()
        b.run("rm", "-f", *ids)
        rm_all = time.perf_counter() - t0
        from sampan.network import NetworkManager  # the background teardowns, then look
        from sampan.state.db import Database
        from sampan.state.paths import Paths
        db = Database(Paths(b.root, b.runroot).db)
        nm = NetworkManager(Paths(b.root, b.runroot), db)
        nm.settle()
        while nm.store.attachment_rows("state='tearing'"):
            time.sleep(0.1)
        settled = time.perf_counter() - t0
        spares = {os.path.basename(r["netns"]) for r in nm.store.attachment_rows("state='spare'")}
        db.close()
        while any(n.startswith("trash-") for n in os.listdir(b.root / "tmp")):
            time.sleep(0.1)
        deleted = time.perf_counter() - t0
        left = _leftovers(b, ids, spares)
    finally:
        b.close()
    docker_rows: list[tuple] = []
    docker_rm = float("nan")
    docker_left: list[str] = []
    if ns.docker:
        from api_run import left_behind, snapshot
        before = snapshot()
        d = DockerTarget()
        docker_ids: list[str] = []
        try:
            d.run("run", "--rm", "busybox", "true")
            dsteps = [int(s) for s in (ns.docker_steps or ns.steps).split(",")]
            docker_rows = _series(d.run, d.pss_each, dsteps, ns.n, docker_ids)
            t0 = time.perf_counter()
            d.run("rm", "-f", *docker_ids)
            docker_rm = time.perf_counter() - t0
        finally:
            d.close()
        docker_left = left_behind(before, snapshot())
    _print_rows(f"idle detached containers, sampan ({env_note()})", rows)
    print(f"  rm -f of all {len(ids)} in one command: {rm_all:.1f} s; network torn down after {settled:.1f} s, "
          f"directories deleted after {deleted:.1f} s (both in the background)")
    print(f"  left afterwards: {left}")
    if ns.docker:
        _print_rows("the same, dockerd (a private one; PSS: each container's shim and processes)", docker_rows)
        print(f"  rm -f of all {docker_rows[-1][0] if docker_rows else 0} in one command: {docker_rm:.1f} s")
        print("  machine as found after dockerd: " + ("yes" if not docker_left else "NO: " + "; ".join(docker_left)))


if __name__ == "__main__":
    main()
