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

from sampan.network import cni, netns as netns_mod
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
        conflist = json.loads(row["conflist"])
        result = json.loads(row["result"])
        call = cni.CniCall(row["cni_id"], Path(row["netns"]), att.ifname, self.cni_path)
        return cni.del_chain(call, conflist, runtime_config(att.ports), result, ignore_errors=True)

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
