"""Reading a bundle's config.json, and the defaults an exec'd process takes from it."""

from __future__ import annotations

import json
from pathlib import Path

from sampan.errors import InvalidArgument

INHERITED = ("capabilities", "noNewPrivileges", "rlimits")


def load_spec(bundle: Path) -> dict:
    try:
        with open(Path(bundle) / "config.json") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InvalidArgument(f"bundle {bundle} has no config.json") from None
    except json.JSONDecodeError as e:
        raise InvalidArgument(f"{bundle}/config.json is not valid JSON: {e}") from None
    except OSError as e:
        raise InvalidArgument(f"cannot read {bundle}/config.json: {e.strerror}") from None


def with_container_defaults(process: dict, bundle: Path, spec: dict | None = None) -> dict:
    """An exec'd process without capabilities, no_new_privs or rlimits gets the container's,
    so it never keeps the runtime's own full root capabilities. spec: the bundle's, if read."""
    missing = [k for k in INHERITED if k not in process]
    if not missing:
        return process
    try:
        init = (spec if spec is not None else load_spec(bundle)).get("process") or {}
    except InvalidArgument:
        init = {}
    out = dict(process)
    for key in missing:
        if key in init:
            out[key] = init[key]
    if "capabilities" not in out:
        out["capabilities"] = {}  # no list anywhere: no capabilities at all
    return out
