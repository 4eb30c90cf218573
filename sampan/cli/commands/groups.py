"""`container VERB` and `image VERB`: Docker's management-command spellings."""

from __future__ import annotations

import sys

from sampan.cli.main import COMMANDS

CONTAINER = {"ls": "ps", "list": "ps", "ps": "ps", "run": "run", "create": "create", "start": "start",
             "attach": "attach",
             "stop": "stop", "kill": "kill", "restart": "restart", "wait": "wait", "rm": "rm",
             "remove": "rm", "logs": "logs", "exec": "exec", "top": "top", "diff": "diff",
             "commit": "commit", "export": "export", "cp": "cp", "inspect": "inspect", "port": "port",
             "rename": "rename",
             "pause": "pause", "unpause": "unpause", "stats": "stats",
             "prune": "container-prune"}
IMAGE = {"ls": "images", "list": "images", "import": "import", "tag": "tag", "rm": "rmi",
         "remove": "rmi", "history": "history", "inspect": "inspect", "build": "build",
         "pull": "pull", "push": "push", "save": "save", "load": "load", "prune": "image-prune",
         "tree": "image-tree"}


def _prune(g, argv, what: str) -> int:
    from sampan.cli.args import Parser
    from sampan.cli.commands import prune
    p = Parser(f"{what} prune")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    if what == "image":
        p.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones")
    prune.add_filter(p)
    ns = p.parse_args(argv)
    from sampan.cli import prompt
    from sampan.engine.options import PruneOptions
    engine = g.engine()
    warning = (prompt.CONTAINERS if what == "container" else
               prompt.IMAGES_ALL if ns.all else prompt.IMAGES_DANGLING)
    if not ns.force and not prompt.confirm(warning):
        return 0  # Docker: a "no" is no error
    if what == "container":
        report = engine.containers.prune(PruneOptions(filters=ns.filter))
        prune.section("Deleted Containers:", report.deleted)
    else:
        report = engine.images.prune(PruneOptions(all=ns.all, filters=ns.filter))
        prune.images_section(report)
    prune.total(report.space_reclaimed)
    return 0


def main(command: str, argv: list[str], g) -> int:
    table = CONTAINER if command == "container" else IMAGE
    if not argv or argv[0] not in table:
        sys.stdout.write(f"Usage:  sampan {command} COMMAND\n\nCommands:\n" +
                         "".join(f"  {v}\n" for v in table) )
        return 0 if argv and argv[0] in ("-h", "--help") else 125
    target = table[argv[0]]
    if target.endswith("-prune"):
        return _prune(g, argv[1:], command)
    if target == "image-tree":
        from sampan.cli.commands.image_tree import main as tree
        return tree("image tree", argv[1:], g)
    if target == "inspect":
        argv = [argv[0], "--type", command] + argv[1:]
    module = __import__(f"sampan.cli.commands.{COMMANDS[target][0]}", fromlist=["main"])
    return module.main(target, argv[1:], g) or 0
