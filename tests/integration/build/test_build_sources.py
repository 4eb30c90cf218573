"""Contexts that are not a directory (a tar on stdin or in a file, a git repository),
--iidfile and --output, through the real `sampan build`; hostile archives and repositories."""

import io
import os
import subprocess
import tarfile

import pytest

from tests.integration.build.test_cli_build import cli, write  # noqa: F401  (fixture)

DF = "FROM busybox\nCOPY . /ctx/\nRUN cat /ctx/msg > /got\n"


def tar_of(files: dict[str, bytes | str], gz: bool = False, extra=()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as t:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for ti in extra:
            t.addfile(ti)
    return buf.getvalue()


def got(cli, ref: str) -> str:
    return cli.ok("run", "--rm", "--network=none", ref, "cat", "/got")


@pytest.mark.parametrize("gz", [False, True])
def test_tar_context_on_stdin(cli, gz):
    data = tar_of({"Dockerfile": DF, "msg": "from stdin tar\n"}, gz=gz)
    r = cli("build", "--network=none", "-q", "-t", "t:1", "-", input=data)
    assert r.rc == 0, r.err
    assert got(cli, "t:1") == "from stdin tar\n"


def test_tar_context_on_stdin_with_f_inside_it(cli):
    data = tar_of({"sub/Build.df": DF, "msg": "named\n"})
    r = cli("build", "--network=none", "-q", "-f", "sub/Build.df", "-t", "t:2", "-", input=data)
    assert r.rc == 0, r.err
    assert got(cli, "t:2") == "named\n"


def test_tar_file_context(cli, tmp_path):
    path = tmp_path / "ctx.tar.gz"
    path.write_bytes(tar_of({"Dockerfile": DF, "msg": "tar file\n"}, gz=True))
    r = cli("build", "--network=none", "-q", "-t", "t:3", str(path))
    assert r.rc == 0, r.err
    assert got(cli, "t:3") == "tar file\n"


def test_iidfile_holds_the_image_id(cli, tmp_path):
    write(cli, {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    iid = tmp_path / "iid"
    iid.write_text("stale")
    out = cli.ok("build", "--network=none", "-q", "--iidfile", str(iid), str(cli.ctx)).strip()
    assert iid.read_text() == out and out.startswith("sha256:")
    write(cli, {"Dockerfile": "FROM busybox\nRUN exit 3\n"})
    assert cli("build", "--network=none", "-q", "--iidfile", str(iid), str(cli.ctx)).rc == 1
    assert not iid.exists()  # no stale id after a failed build (Docker's behaviour)


def test_output_local_and_tar(cli, tmp_path):
    write(cli, {"Dockerfile": "FROM busybox\nRUN mkdir /out && echo built > /out/f && ln -s /etc/passwd /out/l\n"})
    dest = tmp_path / "dir"
    r = cli("build", "--network=none", "-q", "-o", f"type=local,dest={dest}", str(cli.ctx))
    assert r.rc == 0, r.err
    assert (dest / "out" / "f").read_text() == "built\n"
    assert os.readlink(dest / "out" / "l") == "/etc/passwd"  # a link, never followed
    assert (dest / "bin" / "busybox").is_file()
    tar_path = tmp_path / "fs.tar"
    assert cli("build", "--network=none", "-q", "-o", f"type=tar,dest={tar_path}", str(cli.ctx)).rc == 0
    with tarfile.open(tar_path) as t:
        assert t.extractfile("out/f").read() == b"built\n"
    p = subprocess.run(cli.argv("build", "--network=none", "-q", "-o", "-", str(cli.ctx)),
                       capture_output=True, env=cli.env(), stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:  # -o -: the tar alone on stdout
        assert t.extractfile("out/f").read() == b"built\n"


def test_output_flag_errors(cli):
    write(cli, {"Dockerfile": "FROM busybox\n"})
    r = cli("build", "-o", "type=registry", str(cli.ctx))
    assert r.rc == 125 and "unsupported --output type" in r.err


# ---- hostile archives ----

def test_tar_member_escaping_the_context_is_refused(cli, tmp_path):
    data = tar_of({"Dockerfile": DF, "msg": "m", "../../escaped": "x"})
    r = cli("build", "--network=none", "-q", "-", input=data)
    assert r.rc != 0 and "Traceback" not in r.err
    assert not list(tmp_path.glob("**/escaped"))


def test_dockerfile_link_out_of_the_tar_context_is_not_followed(cli, tmp_path):
    secret = tmp_path / "hostfile"
    secret.write_text("FROM busybox\nRUN echo HOSTFILE-READ\n")
    link = tarfile.TarInfo("Dockerfile")
    link.type, link.linkname = tarfile.SYMTYPE, str(secret)
    ign = tarfile.TarInfo(".dockerignore")
    ign.type, ign.linkname = tarfile.SYMTYPE, "/dev/zero"
    r = cli("build", "--network=none", "--progress=plain", "-", input=tar_of({"msg": "m"}, extra=[link, ign]))
    assert r.rc != 0 and "HOSTFILE-READ" not in r.err + r.out
    assert "not found" in r.err


def test_dockerignore_link_to_a_device_is_not_read(cli):
    ign = tarfile.TarInfo(".dockerignore")
    ign.type, ign.linkname = tarfile.SYMTYPE, "/dev/zero"
    r = cli("build", "--network=none", "-q", "-t", "ign:1", "-",
            input=tar_of({"Dockerfile": DF, "msg": "ok\n"}, extra=[ign]), timeout=60)
    assert r.rc == 0, r.err
    assert got(cli, "ign:1") == "ok\n"


def test_garbage_on_stdin_is_a_dockerfile_error_not_a_traceback(cli):
    r = cli("build", "-q", "-", input=b"\x1f\x8bnot really gzip")
    assert r.rc != 0 and "Traceback" not in r.err and r.err.count("\n") <= 2


# ---- git ----

def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git("init", "-q", "-b", "main", ".", cwd=r)
    (r / "Dockerfile").write_text(DF)
    (r / "msg").write_text("main branch\n")
    (r / "sub").mkdir()
    (r / "sub" / "Dockerfile").write_text(DF)
    (r / "sub" / "msg").write_text("subdir\n")
    os.symlink("/etc", r / "outside")
    git("add", "-A", cwd=r)
    git("commit", "-qm", "one", cwd=r)
    git("checkout", "-qb", "other", cwd=r)
    (r / "msg").write_text("other branch\n")
    git("commit", "-qam", "two", cwd=r)
    git("checkout", "-q", "main", cwd=r)
    hook = r / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {tmp_path}/HOOK-RAN\n")
    hook.chmod(0o755)
    return r


def test_git_context_from_a_local_repository_ref_and_subdir(cli, repo, tmp_path):
    assert cli("build", "--network=none", "-q", "-t", "g:1", f"file://{repo}").rc == 0
    assert got(cli, "g:1") == "main branch\n"
    r = cli("build", "--network=none", "-q", "-t", "g:2", f"{repo}#other")
    assert r.rc == 0, r.err
    assert got(cli, "g:2") == "other branch\n"
    r = cli("build", "--network=none", "-q", "-t", "g:3", f"file://{repo}#main:sub")
    assert r.rc == 0, r.err
    assert got(cli, "g:3") == "subdir\n"
    assert not (tmp_path / "HOOK-RAN").exists()


@pytest.mark.parametrize("url,message", [
    ("ext::sh -c touch% /tmp/sampan-ext-pwned#main", "unsupported git URL"),
    ("fd::3#main", "unsupported git URL"),
    ("git://-upload-pack=touch.x/repo.git", "git fetch failed"),
])
def test_git_transports_that_run_commands_are_refused(cli, url, message):
    r = cli("build", "-q", url)
    assert r.rc != 0 and message in r.err, r.err
    assert not os.path.exists("/tmp/sampan-ext-pwned")


def test_git_subdir_cannot_leave_the_repository(cli, repo):
    for frag in ("main:outside", "main:../.."):
        r = cli("build", "-q", f"file://{repo}#{frag}")
        assert r.rc != 0 and "outside the repository" in r.err, r.err


def test_git_submodule_from_a_host_path_is_refused(cli, repo, tmp_path):
    other = tmp_path / "private"
    other.mkdir()
    git("init", "-q", "-b", "main", ".", cwd=other)
    (other / "key").write_text("PRIVATE\n")
    git("add", "-A", cwd=other)
    git("commit", "-qm", "k", cwd=other)
    git("-c", "protocol.file.allow=always", "submodule", "-q", "add", f"file://{other}", "mod", cwd=repo)
    git("commit", "-qm", "sub", cwd=repo)
    r = cli("build", "-q", f"file://{repo}#main")
    assert r.rc != 0 and "git submodule failed" in r.err, r.err


# ---- --cache-from ----

def test_cache_from_an_image_reuses_its_steps(cli):
    df = ("FROM busybox\nENV A=1\nRUN head -c 16 /dev/urandom | md5sum > /rand\n"
          "WORKDIR /w\nRUN echo two > /two\n")
    write(cli, {"Dockerfile": df})
    first = cli.ok("build", "--network=none", "-q", "-t", "src:1", str(cli.ctx)).strip()
    cli.ok("builder", "prune", "-f")  # the local step cache is gone: only the image is left
    r = cli("build", "--network=none", "--progress=plain", "--cache-from", "src:1", "-t", "re:1", str(cli.ctx))
    assert r.rc == 0, r.err
    assert r.err.count("CACHED") == 3 and first in r.err  # the same image, its random file kept
    cli.ok("builder", "prune", "-f")
    write(cli, {"Dockerfile": df.replace("echo two", "echo three")})
    r = cli("build", "--network=none", "--progress=plain", "--cache-from", "src:1", "-t", "re:2", str(cli.ctx))
    assert r.rc == 0 and r.err.count("CACHED") == 2, r.err
    assert cli.ok("run", "--rm", "--network=none", "re:2", "cat", "/rand") == \
        cli.ok("run", "--rm", "--network=none", "src:1", "cat", "/rand")
    # no --cache-from, no local cache: everything runs again
    cli.ok("builder", "prune", "-f")
    r = cli("build", "--network=none", "--progress=plain", "-t", "re:3", str(cli.ctx))
    assert r.rc == 0 and "CACHED" not in r.err


def test_cache_from_a_missing_image_is_a_warning(cli):
    write(cli, {"Dockerfile": "FROM busybox\nRUN true\n"})
    r = cli("build", "--network=none", "--progress=plain", "--cache-from", "nope:1", str(cli.ctx))
    assert r.rc == 0 and "--cache-from nope:1" in r.err
