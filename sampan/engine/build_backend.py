"""The engine's implementation of the builder's BuildBackend: images from the store,
and RUN steps as real containers through the same runtime as `sampan run`.

A RUN step's container is supervised by the build process itself (no monitor):
its root is overlay(init, image layers..., upper) where upper becomes the step's
layer, and the init layer holds the runtime's mount points so they never leak
into the layer. Every temp dir lives in the build's scratch dir, where a RUN step
records its container first, so a killed build's leftovers are found and swept
(build_scratch.py).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

from sampan.engine import overlay
from sampan.engine.build_scratch import BuildScratch
from sampan.engine.context import Context
from sampan.engine.runstate import make_init_layer
from sampan.state.atomic import atomic_write_bytes, atomic_write_json


class EngineBuildBackend:
    def __init__(self, ctx: Context, runtime: str | None = None, pull: str = "missing",
                 auths: dict | None = None):
        self.ctx = ctx
        self.auths = auths  # {registry: (user, password)} for base images, this build only
        self.runtime_name = runtime or ctx.default_runtime
        self.pull = pull  # base images: missing (Docker's default), always, never
        self.scratch = BuildScratch(ctx)

    def close(self) -> None:
        """Remove the build's scratch dir (and whatever an interrupted step left in it)."""
        self.scratch.close()

    # ---- images and layers ----
    def base_image(self, ref: str):
        from sampan.engine.create import image_for_run
        info = image_for_run(self.ctx, ref, self.pull, self.auths)
        return info.id, info.config, list(info.layers)

    def local_image(self, ref: str):
        info = self.ctx.images.resolve(ref)
        return info.id, info.config, list(info.layers)

    def layer_dirs(self, layers: list) -> list[Path]:
        return self.ctx.images.layer_dirs(list(layers))

    def add_layer_from_dir(self, upper: Path):
        return self.ctx.images.add_layer_from_dir(upper)

    def adopt_layer_dir(self, layers: list, upper: Path) -> bool:
        """The step's upper dir becomes its layer's unpacked dir (see build/backend.py): the
        next step's lowers need no extraction of the tar just written, and the upper no
        deletion (together ~0.5 s of a cold build with a 200-file COPY here)."""
        from sampan.oci.image import chain_ids
        chain = chain_ids([layer.diff_id for layer in layers])[-1]
        return self.ctx.images.unpacker.adopt(layers[-1], chain, upper)

    def write_image(self, config: dict, layers: list, ref: str | None, history: list[dict]):
        return self.ctx.images.write_image(config, list(layers), ref, history=history)

    def tag(self, image_id: str, ref: str) -> None:
        self.ctx.images.tag(image_id, ref)

    def temp_dir(self) -> Path:
        return self.scratch.temp_dir()

    def layer_to_json(self, layer) -> dict:
        return layer.to_json()

    def layer_from_json(self, data: dict):
        from sampan.store.types import LayerRef
        try:
            layer = LayerRef.from_json(data)
        except (KeyError, TypeError):
            return None
        return layer if self.ctx.images.has_blob(layer.digest) else None

    # ---- RUN ----
    def run(self, lowers: list[Path], upper: Path, argv: list[str], env: list[str], cwd: str,
            user: str, network: str, output: Callable[[bytes], None], mounts: list | tuple = ()) -> int:
        """`mounts`: RUN --mount's plans (build/run_mounts.RunMountPlan)."""
        cid = secrets.token_hex(32)
        mode = "bridge" if network in ("default", "bridge", "") else network
        work = self.scratch.run_dir(cid, self.runtime_name, network=mode == "bridge")
        net_manager = None
        netns = None
        step_mounts = None
        try:
            root, init, ovl_work = work / "rootfs", work / "init", work / "work"
            make_init_layer(init)
            extra: list[dict] = []
            if mounts:
                from sampan.build.run_mounts import make_stubs
                from sampan.engine.build_mounts import StepMounts
                make_stubs(init, list(lowers), list(mounts))
                step_mounts = StepMounts(self.ctx, work, list(mounts))
                extra = step_mounts.prepare()
            hostname = cid[:12]
            from sampan.engine.bundle import ETC_MODE, HOSTS_BASE
            atomic_write_bytes(work / "hostname", (hostname + "\n").encode(), ETC_MODE, durable=False)
            atomic_write_bytes(work / "hosts", (HOSTS_BASE + f"127.0.1.1\t{hostname}\n").encode(),
                               ETC_MODE, durable=False)
            overlay.mount_overlay([init] + list(lowers), upper, ovl_work, root)
            try:
                if mode == "bridge":
                    from sampan.engine.networking import nm
                    net_manager = nm(self.ctx)
                    ns_path, _ = net_manager.setup(cid, "bridge", (), (), hostname)
                    netns = str(ns_path)
                    atomic_write_bytes(work / "resolv.conf", net_manager.resolv_conf(), ETC_MODE, durable=False)
                else:
                    from sampan.network.dns import host_resolv_conf
                    atomic_write_bytes(work / "resolv.conf", host_resolv_conf(), ETC_MODE, durable=False)
                return self._run_container(cid, work, root, argv, env, cwd, user, mode, netns, hostname,
                                           output, extra)
            finally:
                overlay.unmount(root)
                if net_manager is not None and netns is not None:
                    net_manager.release(cid, Path(netns), background=True, replenish=True)
        finally:
            if step_mounts is not None:
                step_mounts.close()
            self.scratch.run_done(cid, work)

    def _run_container(self, cid, work, root, argv, env, cwd, user, mode, netns, hostname, output,
                       mounts: list[dict]) -> int:
        from sampan.errors import CommandNotExecutable, CommandNotFound
        from sampan.runtime.base import Stdio, become_subreaper, cgroups_path
        from sampan.runtime.factory import get_runtime
        from sampan.specgen.spec import NETNS_HOST, NETNS_NEW, SpecInputs, generate
        from sampan.specgen.users import resolve_user

        spec = generate(SpecInputs(
            rootfs=str(root), argv=argv, env=env, cwd=cwd or "/", user=resolve_user(root, user),
            hostname=hostname, mounts=mounts,
            etc_files={"/etc/hosts": str(work / "hosts"), "/etc/hostname": str(work / "hostname"),
                       "/etc/resolv.conf": str(work / "resolv.conf")},
            netns=netns or (NETNS_HOST if mode == "host" else NETNS_NEW),
            cgroups_path=cgroups_path(cid)))
        atomic_write_json(work / "config.json", spec, durable=False)
        runtime = get_runtime(self.runtime_name, self.ctx.paths.runtime_state / self.runtime_name)
        become_subreaper()
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            created = runtime.create(cid, work, Stdio(stdin=None, stdout=w, stderr=w))
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        os.close(w)
        try:
            try:
                runtime.start(cid)
            except (CommandNotFound, CommandNotExecutable) as e:
                output((e.message + "\n").encode())
                os.waitpid(created.pid, 0)
                return e.exit_code
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                output(chunk)
            _, status = os.waitpid(created.pid, 0)
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)
        finally:
            os.close(r)
            try:
                runtime.delete(cid, force=True)
            except Exception:
                pass
