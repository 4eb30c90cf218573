"""Docker's rules for the process a container runs: entrypoint/cmd and env."""

from __future__ import annotations

from sampan.errors import InvalidArgument
from sampan.specgen.defaults import DEFAULT_PATH


def entrypoint_argv(entrypoint: str | list[str] | None) -> list[str] | None:
    """An entrypoint override as argv: --entrypoint's one string ("" clears it) or the
    API's list ([] or [""] clears it). None: not overridden."""
    if entrypoint is None:
        return None
    if isinstance(entrypoint, str):
        return [entrypoint] if entrypoint else []
    return [] if entrypoint in ([], [""]) else list(entrypoint)


def merge_command(image_entrypoint: list[str] | None, image_cmd: list[str] | None,
                  entrypoint: str | list[str] | None, args: list[str]) -> list[str]:
    """Return argv. `entrypoint` is --entrypoint (None: not given, "": cleared) or the
    API's list (entrypoint_argv).

    As Docker: overriding the entrypoint also drops the image's CMD; command-line
    args replace CMD; the result is entrypoint + cmd.
    """
    if entrypoint is not None:
        ep = entrypoint_argv(entrypoint) or []
        cmd = list(args)
    else:
        ep = list(image_entrypoint or [])
        cmd = list(args) if args else list(image_cmd or [])
    argv = ep + cmd
    if not argv:
        raise InvalidArgument("no command specified: the image has no CMD or ENTRYPOINT; give one after the image name")
    return argv


def env_key(item: str) -> str:
    return item.split("=", 1)[0]


def merge_env(image_env: list[str] | None, user_env: list[str], *, hostname: str,
              tty: bool, home: str | None) -> list[str]:
    """Image env, then user env on top (same key replaces, keeping order of first sight)."""
    merged: dict[str, str] = {}
    merged["PATH"] = "PATH=" + DEFAULT_PATH
    merged["HOSTNAME"] = "HOSTNAME=" + hostname
    if tty:
        merged["TERM"] = "TERM=xterm"
    for item in list(image_env or []) + list(user_env):
        merged[env_key(item)] = item
    if home is not None and "HOME" not in merged:
        merged["HOME"] = "HOME=" + home
    return list(merged.values())


def parse_env_option(value: str, lookup) -> str | None:
    """`-e K=V` sets; `-e K` copies K from the caller's environment if set (Docker)."""
    if not value or value.startswith("="):
        raise InvalidArgument(f"invalid environment variable {value!r}: expected KEY=VALUE or KEY")
    if "=" in value:
        return value
    found = lookup(value)
    return None if found is None else f"{value}={found}"


def read_env_file(path: str, lookup) -> list[str]:
    """Docker's --env-file: KEY=VALUE lines, # comments, blank lines; bare KEY copies from env."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"cannot read env file {path}: {e.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        if " " in env_key(line) or "\t" in env_key(line):
            raise InvalidArgument(f"{path}:{n}: variable name {env_key(line)!r} contains whitespace")
        item = parse_env_option(line, lookup)
        if item is not None:
            out.append(item)
    return out
