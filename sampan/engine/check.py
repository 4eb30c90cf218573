"""`sampan system check`: a read-only consistency check of one sampan root.

It opens the database read-only, takes no lock and writes nothing, so it may
run beside other commands (what they are doing at that moment, such as a pull
filling the store's tmp dir, may show up as notes). Each section runs on its
own: a damaged database or an unreadable directory becomes a finding, and the
other sections still run.
"""

from __future__ import annotations

import sqlite3

from sampan.state.paths import Paths
from sampan.store.verify import (CheckFinding, list_dir, mounts_under, note, problem,
                                 verify_store)

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Callable


def check_root(paths: Paths) -> list[CheckFinding]:
    """Every problem and note found under paths.root, in a stable order."""
    root = paths.root
    if not root.is_dir():
        return [problem(str(root), f"{root} does not exist or is not a directory: give the "
                                   "sampan root to check with --root (or SAMPAN_ROOT)")]
    out: list[CheckFinding] = []
    try:
        db = _open_db(paths, out)
    except OSError as e:  # e.g. a root this user may not read
        out.append(problem(str(root), f"cannot read {e.filename or root} ({e.strerror}): run "
                                      "the check as the user that owns the root (root)"))
        return out
    if db is None:
        return out
    try:
        _section("the image store", out, lambda: _store(paths, db))
        _section("containers", out, lambda: _containers(paths, db))
        _section("volumes", out, lambda: _volumes(paths, db))
        _section("network sandboxes", out, lambda: _sandboxes(paths, db))
    finally:
        db.close()
    return out


def _open_db(paths: Paths, out: list[CheckFinding]):
    from sampan.engine.readonly_db import ReadOnlyDatabase

    if not paths.db.exists():
        has_state = any(list_dir(d, out) for d in (paths.blobs, paths.containers, paths.volumes))
        if has_state:
            out.append(problem(str(paths.db), f"{paths.db} is missing: the records of images, "
                                              "containers and volumes are lost; what is left "
                                              "on disk is listed below"))
        return ReadOnlyDatabase(None)
    db = ReadOnlyDatabase(paths.db)
    try:
        bad = db.integrity_problems()
    except sqlite3.Error as e:
        db.close()
        out.append(problem(str(paths.db), f"{paths.db} cannot be read ({e}); the checks of "
                                          "images, containers and volumes need it and were "
                                          "skipped: restore it from a backup"))
        return None
    if bad:
        out.append(problem(str(paths.db), f"{paths.db} is damaged ({'; '.join(bad[:2])}): "
                                          "restore it from a backup, or recover what it holds "
                                          "with sqlite3's `.recover`"))
    return db


def _section(what: str, out: list[CheckFinding], run: Callable[[], list[CheckFinding]]) -> None:
    try:
        out.extend(run())
    except sqlite3.Error as e:
        out.append(problem(what, f"could not check {what}: the database cannot be read ({e})"))
    except OSError as e:
        out.append(problem(what, f"could not check {what}: {e}"))
    except Exception as e:  # a diagnostic must report, not crash, whatever it meets
        out.append(problem(what, f"could not check {what}: {type(e).__name__}: {e}"))


def _store(paths: Paths, db) -> list[CheckFinding]:
    from sampan.store import ImageStore

    return verify_store(ImageStore(paths, db))


def _containers(paths: Paths, db) -> list[CheckFinding]:
    """Each record has its image and its directory; each directory has a record."""
    from sampan.engine.records import ContainerTable
    from sampan.store.catalog import Catalog

    out: list[CheckFinding] = []
    catalog = Catalog(db)
    records = ContainerTable(db).all()
    for rec in records:
        who = f"container {rec.name} ({rec.id[:12]})"
        d = paths.container_dir(rec.id)
        if catalog.get(rec.image_id) is None:
            out.append(problem(f"container {rec.name}",
                               f"{who} uses image {rec.image_id} ({rec.image_ref}), which is "
                               "no longer in the store, so it cannot start: "
                               f"`sampan rm -f {rec.name}`"))
        if not d.is_dir():
            out.append(problem(f"container {rec.name}",
                               f"{who} has lost its directory {d} (its files and logs are gone): "
                               f"`sampan rm -f {rec.name}`"))
            continue
        lost = [n for n in ("upper", "work") if not (d / n).is_dir()]
        if lost:
            out.append(problem(f"container {rec.name}",
                               f"{who} has lost {' and '.join(f'{d}/{n}' for n in lost)} (its "
                               f"root filesystem cannot be mounted): `sampan rm -f {rec.name}`"))
    known = {rec.id for rec in records}
    for name in list_dir(paths.containers, out):
        if name in known:
            continue
        d = paths.containers / name
        mounted = mounts_under(d)
        if mounted:
            out.append(problem(str(d), f"{d} belongs to no container but still has mounts "
                                       f"({', '.join(mounted[:3])}): `umount -R` them, then "
                                       f"`rm -r {d}`"))
        else:
            out.append(note(str(d), f"{d} belongs to no container (left by an interrupted "
                                    f"create or rm, or a create in progress): harmless; "
                                    f"`rm -r {d}` reclaims its space"))
    return out


def _volumes(paths: Paths, db) -> list[CheckFinding]:
    """Each volume has its _data directory; each volume directory has a record."""
    from sampan.volumes import VolumeStore

    out: list[CheckFinding] = []
    volumes = VolumeStore(paths, db).list()
    for v in volumes:
        if not (paths.volumes / v.name / "_data").is_dir():
            out.append(problem(f"volume {v.name}",
                               f"volume {v.name} has lost its data directory {v.mountpoint}: "
                               f"`mkdir -p {v.mountpoint}` gives it an empty one, or "
                               f"`sampan volume rm {v.name}` removes it"))
    known = {v.name for v in volumes}
    for name in list_dir(paths.volumes, out):
        if name not in known:
            d = paths.volumes / name
            out.append(note(str(d), f"{d} belongs to no volume (left by an interrupted volume "
                                    "create or rm): harmless; look inside, then `rm -r "
                                    f"{d}` if its data is not needed"))
    return out


def _sandboxes(paths: Paths, db) -> list[CheckFinding]:
    """Network sandboxes (a namespace, a veth, an address, rules) that no container holds:
    pooled spares whose namespace is gone, those of containers that no longer exist, and
    namespaces no record names. `system prune` releases each of them."""
    from pathlib import Path

    from sampan.engine.records import ContainerTable
    from sampan.network.netdb import ACTIVE, SPARE, NetDB
    from sampan.network.netns import is_netns

    out: list[CheckFinding] = []
    rows = NetDB(db).attachment_rows()
    containers = {rec.id for rec in ContainerTable(db).all()}
    spares = [r for r in rows if r["state"] == SPARE]
    for r in spares:
        if not is_netns(Path(r["netns"])):
            out.append(problem(f"sandbox {r['cid']}", f"the spare network sandbox {r['cid']} on "
                               f"{r['network']} has lost its namespace {r['netns']}: "
                               "`sampan system prune` releases what is left of it"))
    if spares and not containers:
        out.append(note("network sandboxes", f"{len(spares)} network sandbox(es) kept ready for "
                                              "new containers, in a root that has none: "
                                              "`sampan system prune` releases them"))
    for cid in sorted({r["cid"] for r in rows if r["state"] == ACTIVE and r["cid"] not in containers}):
        out.append(note(f"sandbox {cid[:12]}", f"the network sandbox of {cid[:12]} belongs to no "
                                               "container (a build step in progress, or left by a "
                                               "killed process): `sampan system prune` releases it"))
    netns_dir = paths.runroot / "netns"
    named = {Path(r["netns"]).name for r in rows}
    for name in list_dir(netns_dir, out) if netns_dir.is_dir() else []:
        if name not in named and name not in containers:
            out.append(note(str(netns_dir / name), f"network namespace {netns_dir / name} belongs to "
                                                   "no container or sandbox: `sampan system prune` "
                                                   "releases it"))
    return out
