"""Tearing attachments down: CNI DEL, netns removal, in the foreground or a background process.

A container's CNI DEL (~100-200 ms of plugin execs) is kept off `run --rm`'s
wait: release() marks the attachments 'tearing' and spawns
`python -m sampan.network.teardown ROOT RUNROOT CID NETNS`, which holds a per-cid
lock while it works. Anyone who needs what those attachments hold (a host port,
the network's removal) calls wait(cid): it takes the same lock, and if the
background process died half way, finishes the job itself. Every step is
idempotent, so doing it twice is harmless.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sampan.network import cni, netns as netns_mod
from sampan.network.conflist import runtime_config
from sampan.network.netdb import ACTIVE, TEARING, NetDB
from sampan.state.lock import file_lock
from sampan.state.paths import Paths


class Teardown:
    def __init__(self, paths: Paths, store: NetDB, cni_path: str):
        self.paths = paths
        self.store = store
        self.cni_path = cni_path

    def _lock_path(self, cid: str) -> Path:
        return self.paths.locks / f"net-teardown-{cid}.lock"

    @contextmanager
    def locked(self, cid: str) -> Iterator[None]:
        # Never unlinked: a waiter blocked on the old inode would otherwise share
        # the "lock" with a newcomer who made a fresh file. Zero bytes on tmpfs.
        with file_lock(self._lock_path(cid)):
            yield

    def detach_one(self, cid: str, network: str) -> list[str]:
        found = self.store.attachment(cid, network)
        if found is None:
            return []
        att, row = found
        conflist = json.loads(row["conflist"])
        result = json.loads(row["result"])
        call = cni.CniCall(cid, Path(row["netns"]), att.ifname, self.cni_path)
        errors = cni.del_chain(call, conflist, runtime_config(att.ports), result, ignore_errors=True)
        self.store.delete_attachment(cid, network)
        return errors

    def release_now(self, cid: str, netns: Path | None) -> list[str]:
        errors: list[str] = []
        for r in self.store.attachment_rows("cid=?", (cid,)):
            errors += self.detach_one(cid, r["network"])
            netns = netns or Path(r["netns"])
        if netns is not None:
            netns_mod.remove_netns(netns)
        return errors

    def release(self, cid: str, netns: Path, background: bool) -> None:
        if not background:
            with self.locked(cid):
                self.release_now(cid, netns)
            return
        rows = self.store.attachment_rows("cid=?", (cid,))
        if not rows:
            netns_mod.remove_netns(netns)
            return
        for r in rows:
            self.store.set_state(cid, r["network"], TEARING)
        subprocess.Popen([sys.executable, "-m", "sampan.network.teardown", str(self.paths.root),
                          str(self.paths.runroot), cid, str(netns)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)

    def wait(self, cid: str) -> None:
        """Block until cid's background teardown is over; finish it if its process died."""
        with self.locked(cid):
            if self.store.attachment_rows("cid=? AND state=?", (cid, TEARING)):
                self.release_now(cid, None)

    def reconcile(self, is_alive: Callable[[str], bool]) -> list[str]:
        done = []
        for cid in sorted({r["cid"] for r in self.store.attachment_rows()}):
            rows = self.store.attachment_rows("cid=?", (cid,))
            if any(r["state"] == ACTIVE for r in rows) and is_alive(cid):
                continue
            with self.locked(cid):
                self.release_now(cid, None)
            done.append(cid)
        netns_dir = self.paths.runroot / "netns"
        if netns_dir.is_dir():
            attached = {r["cid"] for r in self.store.attachment_rows()}
            for p in netns_dir.iterdir():
                if p.name not in attached and not is_alive(p.name):
                    netns_mod.remove_netns(p)
                    done.append(p.name)
        return sorted(set(done))


def main(argv: list[str]) -> int:
    from sampan.state.db import Database

    root, runroot, cid, netns = argv
    paths = Paths(Path(root), Path(runroot))
    db = Database(paths.db)
    try:
        t = Teardown(paths, NetDB(db), cni.DEFAULT_CNI_PATH)
        with t.locked(cid):
            t.release_now(cid, Path(netns))
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

