"""`exec`."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument


def main(command: str, argv: list[str], g) -> int:
    from sampan.engine import ExecOptions
    from sampan.specgen.command import parse_env_option

    p = Parser("exec", "Execute a command in a running container")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-d", "--detach", action="store_true", help="Run the command in the background")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("-u", "--user", help="Username or UID (format: name|uid[:group|gid])")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("container")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    ns = p.parse_args(argv)
    if not ns.argv:
        raise InvalidArgument("exec needs a command: sampan exec CONTAINER COMMAND [ARG...]")
    if ns.tty and ns.interactive and not os.isatty(0):
        from sampan.errors import SampanError
        raise SampanError("the input device is not a TTY", exit_code=1)  # Docker's words and code
    env = [e for e in (parse_env_option(x, os.environ.get) for x in ns.env) if e is not None]
    opts = ExecOptions(container=ns.container, argv=ns.argv, env=env, user=ns.user,
                       workdir=ns.workdir, tty=ns.tty, interactive=ns.interactive, detach=ns.detach)
    handle = g.engine().exec(opts)
    if ns.detach:
        return 0
    if handle.pty_master is not None:
        from sampan.cli.tty_proxy import proxy
        return proxy(handle.pty_master, ns.interactive, handle.wait)
    with _signals_to(handle.pid):
        return handle.pump()


_PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


@contextlib.contextmanager
def _signals_to(pid: int):
    """The process runs in a session of its own, out of reach of the terminal's signals:
    pass them on while it runs, as `run` does for its container (Docker's sig-proxy)."""
    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    old = {}
    for name in _PROXIED:
        sig = getattr(signal, name)
        old[sig] = signal.signal(sig, forward)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
