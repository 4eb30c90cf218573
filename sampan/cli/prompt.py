"""Docker's confirmation prompt for the verbs that delete in bulk (the prunes)."""

from __future__ import annotations

import sys

# docker/cli's texts (cli/command/*/prune.go), word for word: scripts grep for them.
CONTAINERS = "WARNING! This will remove all stopped containers."
IMAGES_DANGLING = "WARNING! This will remove all dangling images."
IMAGES_ALL = "WARNING! This will remove all images without at least one container associated to them."
VOLUMES_ANONYMOUS = "WARNING! This will remove anonymous local volumes not used by at least one container."
VOLUMES_ALL = "WARNING! This will remove all local volumes not used by at least one container."
NETWORKS = "WARNING! This will remove all custom networks not used by at least one container."


def system_warning(all_images: bool, volumes: bool, filters: list[str] | None = None) -> str:
    """`system prune`'s list, in the order Docker's pruners run, then the filters it was
    given (docker/cli's confirmationTemplate, whose blank lines are its own)."""
    items = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        items.append("all anonymous volumes not used by at least one container")
    items.append("all images without at least one container associated to them" if all_images
                 else "all dangling images")
    items.append("all build cache" if all_images else "unused build cache")
    text = "WARNING! This will remove:\n" + "".join(f"  - {i}\n" for i in items)
    if filters:
        text += ("\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {f}\n" for f in filters))
    return text


def confirm(warning: str) -> bool:
    """Print the warning and Docker's question on stdout; only "y" or "Y" says yes (a
    closed stdin, as in a script, says no)."""
    sys.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line.strip().lower() == "y"
