"""`-u` resolved against the image's own /etc/passwd and /etc/group (Docker's rules)."""

import os

import pytest

from sampan.errors import InvalidArgument
from sampan.specgen.users import ExecUser, resolve_user

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
# a comment, then a blank line

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:app:/home/app:/bin/sh
nohome:x:1001:1001:::/bin/sh
broken:x:abc:1::/:/bin/sh
short:x:7
"""
GROUP = b"""root:x:0:
staff:x:50:app,daemon
app:x:1000:
wheel:x:10: app , other
big:x:99999999999:app
"""


class Files:
    def __init__(self, passwd=PASSWD, group=GROUP):
        self.files = {"/etc/passwd": passwd, "/etc/group": group}

    def read(self, path):
        return self.files.get(path)


@pytest.mark.parametrize("spec, want", [
    ("", ExecUser(0, 0, [], "/root")),
    ("root", ExecUser(0, 0, [], "/root")),
    ("app", ExecUser(1000, 1000, [50, 10], "/home/app")),
    ("1000", ExecUser(1000, 1000, [50, 10], "/home/app")),
    ("app:staff", ExecUser(1000, 50, [], "/home/app")),  # an explicit group: no supplementary ones
    ("app:50", ExecUser(1000, 50, [], "/home/app")),
    ("app:4242", ExecUser(1000, 4242, [], "/home/app")),  # a numeric group needs no entry
    ("4242", ExecUser(4242, 0, [], "/")),                 # nor does a numeric user
    ("4242:4243", ExecUser(4242, 4243, [], "/")),
    ("daemon", ExecUser(1, 1, [50], "/usr/sbin")),
    ("nohome", ExecUser(1001, 1001, [], "/")),
])
def test_users_and_groups(spec, want):
    assert resolve_user(Files(), spec) == want


@pytest.mark.parametrize("spec, message", [
    ("nobody", "unable to find user nobody"),
    ("app:nogroup", "unable to find group nogroup"),
    ("broken", "malformed entry for broken"),
    ("short", "unable to find user short"),  # a line of too few fields is no entry
])
def test_names_must_exist(spec, message):
    with pytest.raises(InvalidArgument, match=message):
        resolve_user(Files(), spec)


def test_ids_out_of_range_are_not_ids():
    # 2**32-1 is (uid_t)-1: no user; names that look like huge numbers are names
    with pytest.raises(InvalidArgument, match="unable to find user"):
        resolve_user(Files(), str(2**32 - 1))
    with pytest.raises(InvalidArgument, match="unable to find user"):
        resolve_user(Files(), "-1")


def test_an_image_without_passwd_runs_numeric_users_only():
    assert resolve_user(Files(None, None), "") == ExecUser(0, 0, [], "/")
    assert resolve_user(Files(b"", b""), "5:6") == ExecUser(5, 6, [], "/")
    with pytest.raises(InvalidArgument):
        resolve_user(Files(None, None), "app")


def test_undecodable_bytes_do_not_crash():
    data = b"\xff\xfe:x:0:0::/:/bin/sh\napp:x:3:3::/h\xff:/bin/sh\n"
    assert resolve_user(Files(data, b"\x00\x01"), "app") == ExecUser(3, 3, [], "/h\ufffd")


def test_a_directory_root_reads_its_own_files(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(PASSWD)
    (tmp_path / "etc" / "group").write_bytes(GROUP)
    assert resolve_user(tmp_path, "app:staff") == ExecUser(1000, 50, [], "/home/app")


def test_attack_passwd_symlink_out_of_the_root_resolves_inside_it(tmp_path):
    """An image whose /etc/passwd is a symlink to an absolute or ../ path must read the
    image's file of that name, never the host's."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc" / "passwd").write_bytes(b"app:x:0:0::/:/bin/sh\n")  # the "host" file: app is root
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "other").mkdir()
    (root / "other" / "passwd").write_bytes(b"app:x:1000:1000::/home/app:/bin/sh\n")
    for target in (str(host / "etc" / "passwd"), "../../host/etc/passwd"):
        link = root / "etc" / "passwd"
        if link.is_symlink():
            link.unlink()
        os.symlink(target, link)
        with pytest.raises(InvalidArgument, match="unable to find user app"):
            resolve_user(root, "app")  # not found: the link leads nowhere inside the root
    (root / "etc" / "passwd").unlink()
    os.symlink("/other/passwd", root / "etc" / "passwd")  # absolute: the root's own /other
    assert resolve_user(root, "app").uid == 1000
