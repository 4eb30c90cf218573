"""Test-only BuildBackend over the real ImageStore and `runc run` (the engine's own
backend replaces this in production). It mounts overlay(lowers, upper), writes a
minimal OCI bundle and runs the step, so builder tests see a real kernel."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from sampan.oci.image import chain_ids
from sampan.store import ImageStore, LayerRef

CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def _lookup(rootfs: Path, user: str) -> tuple[int, int]:
    name, _, group = user.partition(":")
    uid = gid = 0
    if name.isdigit():
        uid = gid = int(name)
    elif name:
        for line in (rootfs / "etc/passwd").read_text().splitlines():
            f = line.split(":")
            if f[0] == name:
                uid, gid = int(f[2]), int(f[3])
    if group:
        gid = int(group) if group.isdigit() else next(
            int(l.split(":")[2]) for l in (rootfs / "etc/group").read_text().splitlines()
            if l.split(":")[0] == group)
    return uid, gid


class RuncBackend:
    def __init__(self, store: ImageStore, root: Path):
        self.store = store
        self.root = root
        self.runc_state = root / "runc-state"
        self.runs: list[list[str]] = []
        self.container_ids: list[str] = []  # for the tests' leak check
        self.adopt = True  # exercise the optional adopt_layer_dir

    def base_image(self, ref: str):
        info = self.store.resolve(ref)
        return info.id, info.config, list(info.layers)

    def layer_dirs(self, layers: list) -> list[Path]:
        out = []
        for layer, chain in zip(layers, chain_ids([l.diff_id for l in layers])):
            self.store.unpacker.ensure(layer, chain)
            out.append(self.store.unpacker.ready_dir(chain))
        return list(reversed(out))

    def run(self, lowers, upper, argv, env, cwd, user, network, output) -> int:
        self.runs.append(list(argv))
        token = secrets.token_hex(6)
        self.container_ids.append(f"build-{token}")
        base = Path(tempfile.mkdtemp(prefix="run-", dir=self.store.paths.tmp))
        rootfs, work = base / "rootfs", base / "work"
        rootfs.mkdir()
        work.mkdir()
        opts = f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(rootfs)], check=True)
        try:
            uid, gid = _lookup(rootfs, user)
            (rootfs / cwd.lstrip("/")).mkdir(parents=True, exist_ok=True)
            namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
            if network != "host":
                namespaces.append({"type": "network"})
            spec = {
                "ociVersion": "1.0.2",
                "process": {"terminal": False, "user": {"uid": uid, "gid": gid}, "args": argv,
                            "env": env, "cwd": cwd, "noNewPrivileges": True,
                            "capabilities": {k: CAPS for k in ("bounding", "effective", "permitted")}},
                "root": {"path": str(rootfs), "readonly": False},
                "hostname": "build",
                "mounts": [
                    {"destination": "/proc", "type": "proc", "source": "proc"},
                    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
                    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                     "options": ["nosuid", "noexec", "nodev", "ro"]},
                ],
                "linux": {"namespaces": namespaces},
            }
            (base / "config.json").write_text(json.dumps(spec))
            proc = subprocess.Popen(["runc", "--root", str(self.runc_state), "run", "--bundle",
                                     str(base), f"build-{token}"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert proc.stdout is not None
            while chunk := proc.stdout.read1(65536):
                output(chunk)
            return proc.wait()
        finally:
            subprocess.run(["umount", str(rootfs)], check=True)
            shutil.rmtree(base, ignore_errors=True)

    def add_layer_from_dir(self, upper: Path):
        return self.store.add_layer_from_dir(upper)

    def adopt_layer_dir(self, layers: list, upper: Path) -> bool:
        if not self.adopt:
            return False
        from sampan.state.atomic import atomic_write_bytes

        chain = chain_ids([l.diff_id for l in layers])[-1]
        unpacker = self.store.unpacker
        with unpacker._lock(chain):
            if unpacker.is_complete(chain):
                return False
            d = unpacker.layer_dir(chain)
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            os.rename(upper, d / "diff")
            os.sync()
            atomic_write_bytes(d / "complete", f"{layers[-1].diff_id}\n".encode())
        return True

    def write_image(self, config, layers, ref, history):
        return self.store.write_image(config, layers, ref, history=history)

    def tag(self, image_id: str, ref: str) -> None:
        self.store.tag(image_id, ref)

    def temp_dir(self) -> Path:
        self.store.paths.tmp.mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix="build-", dir=self.store.paths.tmp))
        os.chmod(d, 0o755)  # an overlay upper's root mode is the container's "/" mode
        return d

    def layer_to_json(self, layer: LayerRef) -> dict:
        return layer.to_json()

    def layer_from_json(self, data: dict):
        return LayerRef.from_json(data) if self.store.has_blob(data["digest"]) else None
