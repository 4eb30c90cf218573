"""`sampan` entry point: global flags, a lazy command table, and the error boundary.

Only the chosen command's module is imported, so `sampan --help` and `sampan
run` stay fast (the table maps a name to "module:function" as pip does).
"""

from __future__ import annotations

import os
import sys

from sampan.cli.global_options import Globals, parse_globals

# name -> (module, one-line help). Management commands map "group verb" too.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Create and run a new container from an image"),
    "create": ("run", "Create a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "attach": ("attach", "Attach local standard input, output, and error streams to a running container"),
    "stop": ("lifecycle", "Stop one or more running containers"),
    "kill": ("lifecycle", "Kill one or more running containers"),
    "restart": ("lifecycle", "Restart one or more containers"),
    "wait": ("lifecycle", "Block until one or more containers stop, then print their exit codes"),
    "rm": ("lifecycle", "Remove one or more containers"),
    "rename": ("rename", "Rename a container"),
    "update": ("update", "Update configuration of one or more containers"),
    "ps": ("ps", "List containers"),
    "logs": ("logs", "Fetch the logs of a container"),
    "exec": ("exec", "Execute a command in a running container"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "unpause": ("pause", "Unpause all processes within one or more containers"),
    "events": ("events", "Get real time events from the server"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "top": ("fs", "Display the running processes of a container"),
    "diff": ("fs", "Inspect changes to files or directories on a container's filesystem"),
    "commit": ("fs", "Create a new image from a container's changes"),
    "export": ("fs", "Export a container's filesystem as a tar archive"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "inspect": ("inspect", "Return low-level information on containers and images"),
    "images": ("images", "List images"),
    "import": ("images", "Import the contents from a tarball to create a filesystem image"),
    "tag": ("images", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("images", "Remove one or more images"),
    "history": ("images", "Show the history of an image"),
    "build": ("build", "Build an image from a Dockerfile"),
    "builder": ("build", "Manage builds (builder prune)"),
    "pull": ("registry", "Download an image from a registry"),
    "push": ("registry", "Upload an image to a registry"),
    "search": ("search", "Search a registry for images"),
    "login": ("registry", "Log in to a registry"),
    "logout": ("registry", "Log out from a registry"),
    "manifest": ("manifest", "Manage Docker image manifests and manifest lists"),
    "save": ("archive", "Save one or more images to a tar archive"),
    "load": ("archive", "Load an image from a tar archive or STDIN"),
    "port": ("network", "List port mappings of a container"),
    "volume": ("volume", "Manage volumes"),
    "network": ("network", "Manage networks"),
    "container": ("groups", "Manage containers"),
    "image": ("groups", "Manage images"),
    "compose": ("compose", "Run docker-compose against sampan's API (starting the service when needed)"),
    "system": ("system", "Manage sampan"),
    "doctor": ("doctor", "Check what this host gives sampan, and how to fix what is missing"),
    "info": ("system", "Display system-wide information"),
    "version": ("system", "Show the sampan version information"),
    "completion": ("completion", "Generate the autocompletion script for the specified shell"),
}

USAGE = """Usage:  sampan [OPTIONS] COMMAND

A Docker-compatible container engine

Options:
      --root DIR       Persistent state (default /var/lib/sampan, or $SAMPAN_ROOT)
      --runroot DIR    Run state (default /run/sampan, or $SAMPAN_RUNROOT)
      --runtime NAME   OCI runtime: native (default), runc or crun ($SAMPAN_RUNTIME)
      --debug          Show tracebacks for internal errors
      --explain        Show on stderr each step the engine takes (layers, mounts, namespaces,
                       cgroup, network, build cache), with real values and times
  -v, --version        Print version information and quit

Commands:
"""


def print_help(out=sys.stdout) -> None:
    lines = [USAGE]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name:<10} {text}\n")
    lines.append("\nRun 'sampan COMMAND --help' for more information on a command.\n")
    out.write("".join(lines))


def main(argv: list[str] | None = None) -> int:
    """The `sampan` command: through a warm zygote when one runs (see cli/zygote.py),
    else in this process (and then a zygote is started for the next command)."""
    argv = sys.argv[1:] if argv is None else argv
    from sampan.state.trace import mark
    mark("cli start")
    g, rest = parse_globals(argv)
    printer = _explain_printer(g, rest)
    try:
        return _main(argv, g, rest, printer)
    finally:
        if printer is not None:
            printer.finish()


def _explain_printer(g: Globals, rest: list[str]):
    """--explain: a printer that follows the engine's steps (cli/explain_print.py)."""
    if not g.explain:
        os.environ.pop("SAMPAN_EXPLAIN", None)  # only --explain turns explaining on
        return None
    if not rest or rest[0] not in COMMANDS:
        return None
    from sampan.cli.explain_print import start
    return start()


def _main(argv: list[str], g: Globals, rest: list[str], printer) -> int:
    from sampan.state.trace import mark
    if (not rest or rest[0] not in COMMANDS or os.environ.get("SAMPAN_NO_ZYGOTE")
            or os.geteuid() != 0):
        return run_command(argv)
    if rest[:2] == ["system", "zygote"]:  # asks about the zygote: must not start one
        runroot = g.runroot or os.environ.get("SAMPAN_RUNROOT") or "/run/sampan"
        from sampan.cli.zygote_client import try_run
        code = try_run(argv, os.path.abspath(runroot))
        return run_command(argv) if code is None else code
    runroot = g.runroot or os.environ.get("SAMPAN_RUNROOT") or "/run/sampan"
    from sampan.cli.zygote_client import try_run
    code = try_run(argv, os.path.abspath(runroot))
    if code is not None:
        mark("cli exit (zygote)")
        # This process only relayed: skip the interpreter's teardown (~2 ms).
        sys.stdout.flush()
        sys.stderr.flush()
        if printer is not None:
            printer.finish()
        os._exit(code & 0xFF)
    code = run_command(argv)
    try:
        sys.stdout.flush()
        from sampan.cli.zygote import spawn
        spawn(os.path.abspath(runroot))
    except Exception:
        pass  # a zygote is only an optimisation
    return code


def run_command(argv: list[str]) -> int:
    """Parse and run one command in this process; errors become one line and an exit code."""
    try:
        return _run_command(argv)
    except BrokenPipeError:  # `sampan --help | head -1`
        return _stdout_closed()


def _stdout_closed() -> int:
    """The reader of stdout went away (`sampan images | head -1`): end quietly. stdout now goes
    to /dev/null, so the interpreter's last flush meets no closed pipe either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 0


def _run_command(argv: list[str]) -> int:
    from sampan.errors import SampanError

    g, rest = parse_globals(argv)
    if rest[:1] == ["help"] and len(rest) > 1:  # `sampan help COMMAND [VERB]` is `COMMAND [VERB] --help`
        rest = rest[1:] + ["--help"]
    if not rest or rest[0] in ("-h", "--help", "help"):
        print_help()
        return 0
    if rest[0] in ("-v", "--version"):
        from sampan import __version__
        print(f"sampan version {__version__}")
        return 0
    name = rest[0]
    if name.startswith("-"):
        sys.stderr.write(f"sampan: unknown flag: {name}\nSee 'sampan --help'.\n")
        return 125
    if name not in COMMANDS:
        sys.stderr.write(f"sampan: '{name}' is not a sampan command.\nSee 'sampan --help'.\n")
        return 125
    module = __import__(f"sampan.cli.commands.{COMMANDS[name][0]}", fromlist=["main"])
    try:
        return module.main(name, rest[1:], g) or 0
    except SampanError as e:
        sys.stderr.write(f"sampan: {e.message}\n")
        if name in ("run", "create") and e.exit_code == 1:
            return 125  # Docker: whatever stops `run` before the container runs is 125
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as e:  # a bug: say so in one line; --debug shows the traceback
        full = _no_space(e, g)
        if full is not None:  # not a bug: a full disk, wherever in the code it was met
            sys.stderr.write(f"sampan: {full.message}\n")
            return full.exit_code
        if g.debug:
            raise
        sys.stderr.write(f"sampan: internal error: {type(e).__name__}: {e} (run with --debug for details)\n")
        return 125


def _no_space(exc: Exception, g: Globals):
    from sampan.state.nospace import no_space
    from sampan.state.paths import Paths

    paths = Paths.from_env(g.root, g.runroot)
    return no_space(exc, (paths.root, paths.runroot), paths.db)


if __name__ == "__main__":
    raise SystemExit(main())
