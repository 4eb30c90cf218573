"""Restart policies as Docker has them: parsing, checking, and the decision at an exit.

Pure rules, no I/O but the user-stop marker: `create` imports this on the run path.
A policy is kept in the container's config in Docker's shape,
{"Name": "on-failure", "MaximumRetryCount": 3}; no policy ("no") is kept as nothing.
"""

from __future__ import annotations

import os

from sampan.errors import InvalidArgument

NAMES = ("no", "always", "on-failure", "unless-stopped")

# Docker's restart manager: the first restart waits 100 ms, each next one twice as long,
# at most a minute; a run of 10 s or more starts the doubling again.
FIRST_DELAY, MAX_DELAY, STEADY_RUN = 0.1, 60.0, 10.0

# A file in the container's directory: the user stopped or killed it. Kept with the
# container (not in the run root): `unless-stopped` remembers it across a reboot.
STOPPED_MARK = "stopped-by-user"


def parse(spec: str) -> dict | None:
    """--restart no|always|unless-stopped|on-failure[:N] -> the policy, None for "no"."""
    name, sep, count = spec.partition(":")
    if sep and not name:
        raise InvalidArgument("invalid restart policy format: no policy provided before colon")
    retries = 0
    if sep:
        try:
            retries = int(count)
        except ValueError:
            raise InvalidArgument("invalid restart policy format: maximum retry count must be an integer") \
                from None
    return check({"Name": name, "MaximumRetryCount": retries})


def check(policy: dict) -> dict | None:
    """Docker's ValidateRestartPolicy, with its messages; the policy to keep, None for none."""
    name = policy.get("Name") or "no"
    retries = policy.get("MaximumRetryCount") or 0
    if not isinstance(name, str) or not isinstance(retries, int) or isinstance(retries, bool):
        raise InvalidArgument("invalid restart policy: Name must be a string, MaximumRetryCount an integer")
    if name not in NAMES:
        raise InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of "
                              "'no', 'always', 'on-failure', or 'unless-stopped'")
    if retries and name != "on-failure":
        raise InvalidArgument("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if retries < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    return None if name == "no" else {"Name": name, "MaximumRetryCount": retries}


def docker_shape(policy: dict | None) -> dict:
    """HostConfig.RestartPolicy as inspect shows it."""
    return dict(policy) if policy else {"Name": "no", "MaximumRetryCount": 0}


def wants_restart(policy: dict | None, exit_code: int, restart_count: int, stopped_by_user: bool) -> bool:
    """Docker's ShouldRestart: whether this exit is followed by a start."""
    if not policy:
        return False
    name = policy["Name"]
    if name == "always":
        return True
    if name == "unless-stopped":
        return not stopped_by_user
    if name == "on-failure":
        most = policy.get("MaximumRetryCount") or 0
        return exit_code != 0 and (most == 0 or restart_count < most)
    return False


def next_delay(previous: float, ran_for: float) -> float:
    """How long to wait before this restart, given the last wait and how long the run lasted."""
    if previous <= 0 or ran_for >= STEADY_RUN:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


def mark_stopped(container_dir, stopped: bool) -> None:
    """Record (or forget) that the user stopped the container: no restart after this exit,
    and `unless-stopped` stays stopped when the host boots."""
    path = os.path.join(container_dir, STOPPED_MARK)
    if stopped:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        except FileNotFoundError:
            pass  # the container's directory is gone: it was removed
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def stopped_by_user(container_dir) -> bool:
    return os.path.exists(os.path.join(container_dir, STOPPED_MARK))
