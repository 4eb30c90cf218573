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
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from sampan.errors import NetworkError
from sampan.network import cni, hostrules, netns as netns_mod
from sampan.network.conflist import runtime_config
from sampan.network.netdb import ACTIVE, SPARE, TEARING, NetDB
from sampan.state.lock import acquire, discard, file_lock
from sampan.state.paths import Paths

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Callable, Iterator


class Teardown:
    def __init__(self, paths: Paths, store: NetDB, cni_path: str):
        self.paths = paths
        self.store = store
        self.cni_path = cni_path

    def _lock_path(self, cid: str) -> Path:
        return self.paths.locks / f"net-teardown-{cid}.lock"

    @contextmanager
    def locked(self, cid: str) -> Iterator[None]:
        """cid's teardown lock; discarded (see state.lock) once cid has nothing left to tear down."""
        with file_lock(self._lock_path(cid)):
            yield
            self.discard_lock_if_done(cid)

    def discard_lock_if_done(self, cid: str) -> None:
        """For a holder of cid's lock (the background teardown holds it by inheritance)."""
        if not self.store.attachment_rows("cid=?", (cid,)):
            discard(self._lock_path(cid))

    def detach_one(self, cid: str, network: str) -> list[str]:
        found = self.store.attachment(cid, network)
        if found is None:
            return []
        errors = self._delete(cid, *found)
        self.store.delete_attachment(cid, network)
        return errors

    def release_now(self, cid: str, netns: Path | None) -> list[str]:
        """CNI DEL of every attachment of cid, then its netns, then the records. The host's
        state goes first: if the database cannot be written (a full disk), no veth, address
        or rule outlives the failure; the records stay, and the next release or reconcile
        (DEL is idempotent) removes them."""
        errors: list[str] = []
        rows = self.store.attachment_rows("cid=?", (cid,))
        for r in rows:
            if not netns_mod.is_netns(Path(r["netns"])):
                _stand_in(Path(r["netns"]), r)
            att = self.store.attachment(cid, r["network"])
            if att is not None:
                errors += self._delete(cid, *att)
            netns = netns or Path(r["netns"])
        if netns is not None:
            netns_mod.remove_netns(netns)
        for r in rows:
            self.store.delete_attachment(cid, r["network"])
        return errors

    def _delete(self, cid: str, att, row) -> list[str]:
        """The rules of att's published ports first (a recycled address must never be
        reached through them), then CNI DEL."""
        conflist = json.loads(row["conflist"])
        result = json.loads(row["result"])
        errors: list[str] = []
        if att.ports and not hostrules.uses_portmap(conflist):
            try:
                self.unpublish(att, row, conflist)
            except NetworkError as e:
                errors.append(str(e))
        call = cni.CniCall(row["cni_id"], Path(row["netns"]), att.ifname, self.cni_path)
        return errors + cni.del_chain(call, conflist, runtime_config(att.ports), result, ignore_errors=True)

    def unpublish(self, att, row, conflist: dict | None = None) -> None:
        """Remove the rules of att's published ports (bridge and subnet as recorded at ADD)."""
        bridge, subnet = _bridge_and_subnet(conflist or json.loads(row["conflist"]))
        hostrules.unpublish(att.cid, bridge, subnet, att.ip, att.ports)

    def release(self, cid: str, netns: Path, background: bool, replenish: str = "") -> None:
        import subprocess
        if not background:
            with self.locked(cid):
                self.release_now(cid, netns)
            return
        rows = self.store.attachment_rows("cid=?", (cid,))
        if not rows:
            netns_mod.remove_netns(netns)
            return
        # Take cid's lock here and hand the locked file to the child (flock belongs to
        # the open file, which the child inherits): from the moment we return, anyone
        # waiting on cid blocks until the child has finished.
        fd = acquire(self._lock_path(cid))
        try:
            try:
                for r in rows:
                    self.store.set_state(cid, r["network"], TEARING)
            except Exception:
                # the database refuses even this (a full disk): tear down here and now,
                # under the lock we hold, so that nothing outlives the failure
                self.release_now(cid, netns)
                return
            # its errors go to a log under runroot: nobody is waiting to read them
            log = os.open(self.paths.runroot / "network-teardown.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                          0o600)
            try:
                subprocess.Popen([sys.executable, "-m", "sampan.network.background", str(self.paths.root),
                                  str(self.paths.runroot), cid, str(netns), replenish],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(fd,),
                                 start_new_session=True, close_fds=True)
            finally:
                os.close(log)
        finally:
            os.close(fd)

    def mark_tearing(self, cid: str, netns: Path) -> None:
        """release()'s first half, for a batch: cid's attachments are marked for teardown
        (their ports stay claimed; wait(cid) finishes the job if nobody else does), and
        spawn_sweeper() later starts one process for all of them."""
        rows = self.store.attachment_rows("cid=?", (cid,))
        if not rows:
            netns_mod.remove_netns(netns)
            return
        try:
            for r in rows:
                self.store.set_state(cid, r["network"], TEARING)
        except Exception:
            with self.locked(cid):  # a full disk: tear down here and now
                self.release_now(cid, netns)

    def spawn_sweeper(self, replenish: str = "", workers: int = 1) -> None:
        """Background processes that tear down every attachment marked 'tearing', each
        under its lock (one whose waiter got there first is found done and skipped).
        Several workers share the work by container id: a teardown waits on the kernel
        (veth and namespace removal wait for RCU grace periods) more than it computes."""
        import subprocess
        log = os.open(self.paths.runroot / "network-teardown.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                      0o600)
        try:
            for i in range(workers):
                subprocess.Popen([sys.executable, "-m", "sampan.network.background", str(self.paths.root),
                                  str(self.paths.runroot), "--tearing", replenish if i == 0 else "",
                                  f"{i}/{workers}"],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True, close_fds=True)
        finally:
            os.close(log)

    def sweep(self, shard: tuple[int, int] = (0, 1)) -> set[str]:
        """Tear down every attachment marked 'tearing' (the sweeper's work): those of
        shard i of n first, then any left (a sibling that died); returns the networks
        whose peers must hear of it."""
        networks: set[str] = set()
        i, n = shard
        mine = lambda cid: int(cid[-8:], 16) % n == i if _hex(cid[-8:]) else i == 0  # noqa: E731
        while True:
            rows = self.store.attachment_rows("state=?", (TEARING,))
            cids = sorted({r["cid"] for r in rows})
            if n > 1 and any(mine(c) for c in cids):
                cids = [c for c in cids if mine(c)]
            if not cids:
                return networks
            for cid in cids:
                with self.locked(cid):
                    left = self.store.attachment_rows("cid=? AND state=?", (cid, TEARING))
                    if left:
                        networks.update(r["network"] for r in left)
                        self.release_now(cid, None)

    def wait(self, cid: str) -> None:
        """Block until cid's background teardown is over; finish it if its process died."""
        with self.locked(cid):
            if self.store.attachment_rows("cid=? AND state=?", (cid, TEARING)):
                self.release_now(cid, None)

    def reconcile(self, is_alive: Callable[[str], bool]) -> list[str]:
        done = []
        for cid in sorted({r["cid"] for r in self.store.attachment_rows()}):
            rows = self.store.attachment_rows("cid=?", (cid,))
            if any(r["state"] == SPARE for r in rows) and netns_mod.is_netns(Path(rows[0]["netns"])):
                continue  # a sandbox made ahead of time, still intact
            if any(r["state"] == ACTIVE for r in rows) and is_alive(cid):
                continue
            with self.locked(cid):
                self.release_now(cid, None)
            done.append(cid)
        done += self._sweep_rules()
        netns_dir = self.paths.runroot / "netns"
        if netns_dir.is_dir():
            attached = {Path(r["netns"]).name for r in self.store.attachment_rows()}
            for p in netns_dir.iterdir():
                if p.name in attached or is_alive(p.name):
                    continue
                with self.locked(p.name):  # a spare being made holds this lock until its row exists
                    if not self.store.attachment_rows("netns=?", (str(p),)):
                        netns_mod.remove_netns(p)
                        done.append(p.name)
        return sorted(set(done))


    def _sweep_rules(self) -> list[str]:
        """Remove port rules on this root's bridges that no attachment accounts for (an
        undo whose rule removal failed too). Records are written before rules are added
        and deleted after they are removed, so the rules are read first."""
        bridges = {n.bridge for n in self.store.networks()}
        if not bridges:
            return []
        found = [f for f in hostrules.found_rules() if f[0] in bridges]  # rules first, then
        held = {r["cid"] for r in self.store.attachment_rows()}  # records: never a fresh add's
        try:
            return hostrules.delete_rules([f for f in found if f[1] not in held])
        except NetworkError:
            return []


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def _bridge_and_subnet(conflist: dict) -> tuple[str, str]:
    bridge = conflist["plugins"][0]
    return bridge["bridge"], bridge["ipam"]["ranges"][0][0]["subnet"]


def _stand_in(path: Path, row) -> None:
    """The attachment's namespace is gone (unmounted by hand, a crash before it was
    mounted): the bridge plugin's DEL learns which masquerade rules to remove from the
    interface's addresses in it, and without them it leaves the rules. Make a stand-in
    namespace at the path with an interface of that name and address, for the DEL
    to find and remove; the namespace itself goes after the DEL, as usual. Best effort:
    without it the DEL still releases the address lease."""
    import subprocess
    try:
        netns_mod.remove_netns(path)  # a plain file left at the path: the plugins refuse it
        netns_mod.create_netns(path)
        # a veth pair inside the namespace (the dummy driver is not in every kernel)
        for argv in (["ip", "link", "add", row["ifname"], "type", "veth", "peer", "name", "stand-in"],
                     ["ip", "addr", "add", f"{row['ip']}/{row['prefix']}", "dev", row["ifname"]]):
            subprocess.run(["nsenter", f"--net={path}", *argv], check=True, capture_output=True, timeout=30)
    except Exception:
        pass
