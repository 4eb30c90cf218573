"""RUN --mount (secret, cache, bind, tmpfs) through the real `sampan build`, checked from
inside containers and by reading the built image's layer bytes."""

import io
import json
import os
import re
import tarfile

import pytest

from tests.integration.build.test_cli_build import cli, write  # noqa: F401  (fixture)

SECRET = b"s3cr3t-TOKEN-0123456789"


def layer_bytes(cli, ref: str) -> bytes:
    """Every byte of the image as `save` writes it: config, history, layers (uncompressed)."""
    out = cli.root.parent / "saved.tar"
    cli.ok("save", "-o", str(out), ref)
    data = []
    with tarfile.open(out) as t:
        for m in t.getmembers():
            if not m.isfile():
                continue
            raw = t.extractfile(m).read()
            data.append(raw)
            try:
                with tarfile.open(fileobj=io.BytesIO(raw)) as layer:
                    for lm in layer.getmembers():
                        data.append(lm.name.encode())
                        if lm.isfile():
                            data.append(layer.extractfile(lm).read())
            except tarfile.TarError:
                pass
    out.unlink()
    return b"\n".join(data)


def build(cli, *args, dockerfile=None):
    if dockerfile is not None:
        write(cli, {"Dockerfile": dockerfile})
    return cli("build", "--progress=plain", "--network=none", *args, str(cli.ctx))


def test_secret_is_seen_by_its_run_step_only_and_never_stored(cli, tmp_path):
    src = tmp_path / "token"
    src.write_bytes(SECRET)
    r = build(cli, "--secret", f"id=tok,src={src}", "-t", "sec:1", dockerfile=(
        "FROM busybox\n"
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen-digest-input && "
        "  stat -c '%a %u' /run/secrets/tok > /secret-mode && "
        "  md5sum /run/secrets/tok | cut -c1-32 > /seen && rm /seen-digest-input\n"
        "RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0440,uid=33 stat -c '%a %u' /etc/tok > /m2\n"
        "RUN test ! -e /run/secrets/tok && test ! -e /etc/tok\n"))
    assert r.rc == 0, r.err
    import hashlib
    out = cli.ok("run", "--rm", "--network=none", "sec:1", "cat", "/seen", "/secret-mode", "/m2")
    assert out == f"{hashlib.md5(SECRET).hexdigest()}\n400 0\n440 33\n"
    assert SECRET not in layer_bytes(cli, "sec:1")
    assert SECRET.decode() not in cli.ok("history", "--no-trunc", "sec:1")
    # the mount point was made outside the step's layer: no /run/secrets in the image
    assert cli("run", "--rm", "--network=none", "sec:1", "test", "-e", "/run/secrets").rc == 1


def test_missing_secret_required_fails_with_the_line_optional_is_skipped(cli):
    r = build(cli, dockerfile="FROM busybox\nRUN true\nRUN --mount=type=secret,id=nope,required=true true\n")
    assert r.rc == 1 and "Dockerfile:3" in r.err and "secret nope not found" in r.err
    r = build(cli, "-t", "opt:1",
              dockerfile="FROM busybox\nRUN --mount=type=secret,id=nope test ! -e /run/secrets/nope\n")
    assert r.rc == 0, r.err


def test_cache_mount_persists_between_builds_never_in_the_layer_and_is_pruned(cli):
    df = ("FROM busybox\nARG N\n"
          "RUN --mount=type=cache,target=/root/.cache echo $N >> /root/.cache/runs && "
          "cat /root/.cache/runs > /runs\n")
    assert build(cli, "--build-arg", "N=1", "-t", "c:1", dockerfile=df).rc == 0
    r = build(cli, "--build-arg", "N=2", "-t", "c:2")
    assert r.rc == 0, r.err
    assert cli.ok("run", "--rm", "--network=none", "c:2", "cat", "/runs") == "1\n2\n"
    # the cache dir is not part of the image; its mount point not either
    assert cli("run", "--rm", "--network=none", "c:2", "test", "-e", "/root/.cache").rc == 1
    assert b"\nroot/.cache" not in layer_bytes(cli, "c:2")
    out = cli.ok("builder", "prune", "-f")  # the steps' keys, the cache dir's id and its 4 bytes ("1\n2\n")
    assert out.startswith("Deleted build cache objects:\n") and out.endswith("\n\nTotal reclaimed space: 4B\n")
    assert len(re.findall(r"^[0-9a-f]{40}$", out, re.M)) == 1, out
    assert build(cli, "--build-arg", "N=3", "-t", "c:3").rc == 0
    assert cli.ok("run", "--rm", "--network=none", "c:3", "cat", "/runs") == "3\n"


def test_cache_target_through_an_image_symlink_stays_in_the_root(cli):
    """The image makes /cache a link to a host path; the mount lands inside the root at
    what the link names there, and the host path is untouched."""
    host_dir = "/tmp/sampan-cache-escape-probe"
    assert not os.path.exists(host_dir)
    r = build(cli, "-t", "link:1", dockerfile=(
        "FROM busybox\n"
        f"RUN ln -s ../../../..{host_dir} /cache\n"
        "RUN --mount=type=cache,target=/cache,id=x touch /cache/made && ls -d /tmp/sampan-cache-escape-probe\n"))
    assert r.rc == 0, r.err
    assert not os.path.exists(host_dir)


def test_bind_mount_from_context_is_read_only_and_rw_writes_are_discarded(cli):
    write(cli, {"data/a.txt": "from context\n"})
    r = build(cli, "-t", "b:1", dockerfile=(
        "FROM busybox\n"
        "RUN --mount=source=data,target=/src cat /src/a.txt > /copied && "
        "  (touch /src/x 2>/dev/null && echo writable || echo readonly) > /ro\n"
        "RUN --mount=source=data,target=/src,rw echo changed > /src/a.txt && cat /src/a.txt > /rw\n"
        "RUN --mount=type=bind,target=/whole cat /whole/data/a.txt >> /copied\n"))
    assert r.rc == 0, r.err
    out = cli.ok("run", "--rm", "--network=none", "b:1", "cat", "/copied", "/ro", "/rw")
    assert out == "from context\nfrom context\nreadonly\nchanged\n"
    assert (cli.ctx / "data" / "a.txt").read_text() == "from context\n"
    assert cli("run", "--rm", "--network=none", "b:1", "test", "-e", "/src").rc == 1


def test_bind_mount_of_the_context_hides_what_dockerignore_excludes(cli):
    write(cli, {"data/a.txt": "a\n", "data/.env": "TOKEN\n", "data/deep/keep.txt": "k\n",
                "data/deep/drop.log": "d\n", "data/cache/x": "x\n", "data/cache/keep.me": "m\n",
                ".dockerignore": "data/.env\n**/*.log\ndata/cache\n!data/cache/keep.me\n"})
    r = build(cli, "-t", "ign:1", dockerfile=(
        "FROM busybox\nRUN --mount=source=data,target=/src cd /src && find . | sort > /list\n"))
    assert r.rc == 0, r.err
    listing = cli.ok("run", "--rm", "--network=none", "ign:1", "cat", "/list").split()
    assert listing == [".", "./a.txt", "./cache", "./cache/keep.me", "./deep", "./deep/keep.txt"]
    assert (cli.ctx / "data" / ".env").exists()


def test_bind_mount_content_is_in_the_cache_key(cli):
    write(cli, {"f": "one\n"})
    df = "FROM busybox\nRUN --mount=source=f,target=/f cat /f > /got\n"
    assert build(cli, "-t", "k:1", dockerfile=df).rc == 0
    write(cli, {"f": "two\n"})
    r = build(cli, "-t", "k:2")
    assert r.rc == 0 and "CACHED" not in r.err
    assert cli.ok("run", "--rm", "--network=none", "k:2", "cat", "/got") == "two\n"


def test_bind_mount_from_a_stage(cli):
    r = build(cli, "-t", "st:1", dockerfile=(
        "FROM busybox AS tools\nRUN echo tool > /tool\n"
        "FROM busybox\nRUN --mount=from=tools,source=/tool,target=/t cat /t > /got\n"))
    assert r.rc == 0, r.err
    assert cli.ok("run", "--rm", "--network=none", "st:1", "cat", "/got") == "tool\n"


@pytest.mark.parametrize("source", ["../outside", "link-out/secret", "/../../outside"])
def test_bind_source_cannot_leave_the_context(cli, source, tmp_path):
    (tmp_path / "outside").write_text("host file\n")
    (cli.ctx / "link-out").symlink_to(str(tmp_path))
    r = build(cli, dockerfile=f"FROM busybox\nRUN --mount=source={source},target=/s cat /s\n")
    assert r.rc == 1 and "Dockerfile:2" in r.err and "not found" in r.err
    assert "host file" not in r.err


def test_tmpfs_mount(cli):
    r = build(cli, "-t", "tm:1", dockerfile=(
        "FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=1m "
        "grep -q ' /scratch tmpfs' /proc/mounts && touch /scratch/x\n"))
    assert r.rc == 0, r.err
    assert cli("run", "--rm", "--network=none", "tm:1", "test", "-e", "/scratch").rc == 1


@pytest.mark.parametrize("flag,message", [
    ("--mount=type=ssh", "type=ssh"),
    ("--mount=type=cache", "needs target="),
    ("--mount=type=bind,target=/a,bogus=1", "unexpected key 'bogus'"),
    ("--mount=type=cache,target=/a,sharing=sometimes", "sharing"),
])
def test_mount_parse_errors_name_the_line(cli, flag, message):
    r = build(cli, dockerfile=f"FROM busybox\n\nRUN {flag} true\n")
    assert r.rc == 1 and "Dockerfile:3" in r.err and message in r.err, r.err


def test_secret_flag_refuses_a_fifo(cli, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = build(cli, "--secret", f"id=x,src={fifo}", dockerfile="FROM busybox\nRUN true\n")
    assert r.rc == 125 and "not a regular file" in r.err


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_killed_build_leaves_none_of_its_step_mounts(cli, tmp_path, runtime):
    """SIGKILL while a RUN step holds a secret tmpfs, a bind overlay and a cache mount: the
    build's guard unmounts them with the rest."""
    import signal
    import subprocess

    from tests.integration.build.test_killed_build import _running_step, _wait_clean
    src = tmp_path / "token"
    src.write_bytes(SECRET)
    write(cli, {"data/a": "a\n", "Dockerfile": (
        "FROM busybox\nRUN --mount=type=secret,id=tok --mount=source=data,target=/d "
        "--mount=type=cache,target=/c --mount=type=tmpfs,target=/t "
        "echo started-mnt && sleep 1000 && echo never\n")})
    log = tmp_path / "build.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cli.argv("--runtime", runtime, "build", "--progress=plain", "--network=none",
                                         "--secret", f"id=tok,src={src}", str(cli.ctx)),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=cli.env())
    cid, processes = _running_step(cli, proc, log, "mnt")
    from tests.support import leaks
    assert len(leaks.mounts_under(str(cli.root / "tmp"))) >= 3  # root, bind overlay, secret tmpfs
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert _wait_clean(cli, cid, processes) == {}
