"""Docker's entrypoint/cmd merging and environment precedence."""

import pytest

from sampan.errors import InvalidArgument
from sampan.specgen.command import (entrypoint_argv, merge_command, merge_env, parse_env_option,
                                    read_env_file)
from sampan.specgen.defaults import DEFAULT_PATH


@pytest.mark.parametrize("image_ep, image_cmd, entrypoint, args, want", [
    (None, ["sh"], None, [], ["sh"]),
    (["/ep"], ["a", "b"], None, [], ["/ep", "a", "b"]),
    (["/ep"], ["a", "b"], None, ["c"], ["/ep", "c"]),           # args replace CMD only
    (["/ep"], ["a"], "/other", [], ["/other"]),                 # a new entrypoint drops CMD
    (["/ep"], ["a"], "/other", ["x"], ["/other", "x"]),
    (["/ep"], ["a"], "", ["x"], ["x"]),                         # "" clears the entrypoint
    (None, ["sh"], ["/api", "-v"], [], ["/api", "-v"]),         # the API's list form
    (["/ep"], ["sh"], [""], ["x"], ["x"]),                      # [""] clears too
    (["/ep"], None, [], ["x"], ["x"]),
])
def test_merge_command(image_ep, image_cmd, entrypoint, args, want):
    assert merge_command(image_ep, image_cmd, entrypoint, args) == want


@pytest.mark.parametrize("image_ep, image_cmd, entrypoint", [
    (None, None, None), ([], [], None), (["/ep"], ["a"], ""), (None, ["sh"], []),
])
def test_no_command_is_one_clear_error(image_ep, image_cmd, entrypoint):
    with pytest.raises(InvalidArgument, match="no command specified"):
        merge_command(image_ep, image_cmd, entrypoint, [])


def test_entrypoint_argv():
    assert entrypoint_argv(None) is None
    assert entrypoint_argv("") == []
    assert entrypoint_argv("/bin/sh -c") == ["/bin/sh -c"]  # one string is one word, as Docker's CLI
    assert entrypoint_argv(["a", "b"]) == ["a", "b"]


def test_env_precedence_and_defaults():
    env = merge_env(["PATH=/img", "A=1", "B=2"], ["B=3", "C=4", "A=5"], hostname="h", tty=False, home="/root")
    assert env == ["PATH=/img", "HOSTNAME=h", "A=5", "B=3", "C=4", "HOME=/root"]


def test_env_defaults_without_image_env():
    assert merge_env(None, [], hostname="x", tty=True, home=None) == [
        f"PATH={DEFAULT_PATH}", "HOSTNAME=x", "TERM=xterm"]
    # a user's HOME, HOSTNAME and TERM win over the defaults
    env = merge_env([], ["HOME=/h", "TERM=dumb", "HOSTNAME=me"], hostname="x", tty=True, home="/root")
    assert env == [f"PATH={DEFAULT_PATH}", "HOSTNAME=me", "TERM=dumb", "HOME=/h"]


def test_env_option():
    lookup = {"SET": "v", "EMPTY": ""}.get
    assert parse_env_option("K=V=W", lookup) == "K=V=W"
    assert parse_env_option("SET", lookup) == "SET=v"
    assert parse_env_option("EMPTY", lookup) == "EMPTY="
    assert parse_env_option("UNSET", lookup) is None
    for bad in ("", "=x"):
        with pytest.raises(InvalidArgument):
            parse_env_option(bad, lookup)


def test_env_file(tmp_path):
    f = tmp_path / "env"
    f.write_text("# comment\n\n  A=1\nB\nC=has spaces = ok\nUNSET\n")
    assert read_env_file(str(f), {"B": "b"}.get) == ["A=1", "B=b", "C=has spaces = ok"]
    f.write_text("A=1\nBAD NAME=2\n")
    with pytest.raises(InvalidArgument, match=r":2: variable name 'BAD NAME' contains whitespace"):
        read_env_file(str(f), {}.get)
    with pytest.raises(InvalidArgument, match="cannot read env file"):
        read_env_file(str(tmp_path / "missing"), {}.get)
