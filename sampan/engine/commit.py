"""`commit`: a container's upper dir becomes a new layer on top of its image."""

from __future__ import annotations

import copy

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.specgen.command import entrypoint_argv


def commit(ctx: Context, rec: ContainerRecord, repo: str | None, changes: list[str],
           message: str | None, author: str | None) -> str:
    from sampan.store.changes import apply_changes

    images = ctx.images
    base = images.resolve(rec.image_id)
    cfg = copy.deepcopy(base.config)
    exec_cfg = cfg.get("config") or {}
    # As Docker: the container's own command and env become the image's defaults.
    c = rec.config
    if c.get("args") or c.get("entrypoint_override") is not None:
        exec_cfg["Cmd"] = c.get("args") or None
    if c.get("entrypoint_override") is not None:
        exec_cfg["Entrypoint"] = entrypoint_argv(c["entrypoint_override"]) or None
    if c.get("user_env"):
        env = {e.split("=", 1)[0]: e for e in exec_cfg.get("Env") or []}
        env.update({e.split("=", 1)[0]: e for e in c["user_env"]})
        exec_cfg["Env"] = list(env.values())
    cfg["config"] = apply_changes(exec_cfg, changes)
    layer = images.add_layer_from_dir(ctx.container_files(rec.id)["upper"])
    created = now_rfc3339()
    history = list(cfg.get("history") or [])
    entry: dict[str, object] = {"created": created, "created_by": " ".join(c.get("argv") or [])}
    if message:
        entry["comment"] = message
    if author:
        entry["author"] = author
        cfg["author"] = author
    layers = list(base.layers)
    if layer is None:
        entry["empty_layer"] = True
    else:
        layers.append(layer)
    history.append(entry)
    cfg["created"] = created
    cfg.pop("rootfs", None)
    info = images.write_image(cfg, layers, repo, history=history)
    return info.id
