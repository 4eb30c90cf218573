"""`python -m sampan.network.background ROOT RUNROOT CID NETNS [NETWORK]`: a container's
network teardown, off the user's wait, run with cid's teardown lock inherited
(held) from the parent; then, if NETWORK is given, a spare sandbox
on it so the next container's attach costs a row update instead of CNI ADD.

`... ROOT RUNROOT --tearing [NETWORK [I/N]]`: the same for every attachment marked
'tearing' (a batch: `rm -f` of many), each taken under its lock; worker I of N takes
its share first, then whatever is left."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from sampan.network.manager import NetworkManager
    from sampan.state.db import Database
    from sampan.state.paths import Paths

    root, runroot = argv[:2]
    sweep = argv[2] == "--tearing"
    if sweep:
        replenish = argv[3] if len(argv) > 3 else ""
        i, _, n = (argv[4] if len(argv) > 4 else "0/1").partition("/")
        shard = (int(i), int(n))
    else:
        cid, netns = argv[2:4]
        replenish = argv[4] if len(argv) > 4 else ""
    paths = Paths(Path(root), Path(runroot))
    db = Database(paths.db)
    try:
        nm = NetworkManager(paths, db)
        if sweep:  # every attachment marked 'tearing', each under its own lock
            networks = nm.teardown.sweep(shard)
        else:
            # cid's lock is already ours: inherited, locked, from the parent
            networks = {r["network"] for r in nm.store.attachment_rows("cid=?", (cid,))}
            nm.teardown.release_now(cid, Path(netns))
            nm.teardown.discard_lock_if_done(cid)  # still ours until this process exits
        for network in networks:
            nm.refresh_hosts(network)  # peers stop resolving the name of a container that is gone
        if replenish and _root_still_there(paths):
            os.nice(5)  # yield the CPU to whatever the user runs next
            if nm.prepare_spare(replenish) and not _root_still_there(paths):
                nm.drop_spares(replenish)  # the root went while we made it
    finally:
        db.close()
    return 0


def _root_still_there(paths) -> bool:
    """A root removed while this ran (`rm -rf` of a test's root) must not get a new
    sandbox: its records would go to the unlinked database and the netns, veth and
    rules would stay on the host with nothing left to name them."""
    return paths.db.exists() and paths.runroot.is_dir()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
