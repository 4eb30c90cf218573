"""RUN: argv for each form, env/cwd/user/network given to the backend, failures; ARG scoping."""

import os

import pytest

from sampan.errors import BuildError


def last(h):
    return h.backend.runs[-1]


def test_shell_and_exec_forms(h):
    h.build('FROM busybox\nRUN echo "$HOME" && true\nRUN ["/bin/echo", "a b"]\n')
    assert h.backend.runs[0].argv == ["/bin/sh", "-c", 'echo "$HOME" && true']  # not expanded by us
    assert h.backend.runs[1].argv == ["/bin/echo", "a b"]


def test_heredoc_script_and_heredoc_as_stdin(h):
    h.build("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nRUN cat <<A > /f\nbody\nA\n")
    assert h.backend.runs[0].argv == ["/bin/sh", "-c", "echo one\necho two\n"]
    assert h.backend.runs[1].argv == ["/bin/sh", "-c", "cat <<A > /f\nbody\nA\n"]


def test_env_cwd_user_network(h):
    h.build("FROM busybox\nENV A=1\nWORKDIR /w\nUSER app\nRUN x\n", network="none")
    call = last(h)
    assert "A=1" in call.env and any(e.startswith("PATH=") for e in call.env)
    assert call.cwd == "/w" and call.user == "app" and call.network == "none"
    h.build("FROM busybox\nRUN --network=host y\n")
    assert last(h).network == "host"


def test_lowers_are_the_layers_top_first(h):
    def effect(call, upper, out):
        (upper / call.argv[-1]).write_text("x")
        return 0

    h.backend.effect = effect
    h.build("FROM busybox\nRUN one\nRUN two\n")
    two = h.backend.runs[1]
    assert (two.lowers[0] / "one").exists()  # the layer made by the previous RUN is on top
    assert (two.lowers[-1] / "bin/sh").exists()


def test_failing_run_reports_line_exit_code_and_output(h):
    def effect(call, upper, out):
        if "make" not in call.argv[-1]:
            return 0
        for i in range(30):
            out(f"line {i}\n".encode())
        return 7

    h.backend.effect = effect
    with pytest.raises(BuildError) as info:
        h.build("FROM busybox\nRUN true\n\nRUN make all\n", tags=["app:1"])
    message = str(info.value)
    assert message.startswith("Dockerfile:4: RUN failed:") and "exit code: 7" in message
    assert "/bin/sh -c make all" in message
    assert info.value.exit_code == 1
    assert info.value.output_tail[-1] == "line 29" and len(info.value.output_tail) == 10
    out = h.out.getvalue()
    assert "line 29" in out and "ERROR: process" in out
    assert h.backend.written == [] and h.backend.tags == {}  # no image, no tag moved


def test_output_is_streamed_with_step_numbers(h):
    def effect(call, upper, out):
        out(b"hello ")
        out(b"world\npartial")
        return 0

    h.backend.effect = effect
    result = h.build("FROM busybox\nRUN greet\n", tags=["greet:latest"])
    out = h.out.getvalue()
    assert "[2/2] RUN greet" in out
    step = [l for l in out.splitlines() if l.endswith("RUN greet")][0].split()[0]
    logged = [l for l in out.splitlines() if l.startswith(step + " ") and "hello" in l]
    assert logged and logged[0].endswith("hello world")
    assert any(l.startswith(step + " ") and l.endswith("partial") for l in out.splitlines())
    assert f"writing image {result.image_id} done" in out and "naming to docker.io/library/greet:latest done" in out


def test_arg_scoping_rules(h):
    df = ("ARG GLOBAL=g\nARG BOTH=outer\nFROM busybox\n"
          "RUN echo 1\n"            # GLOBAL not in scope here
          "ARG GLOBAL\nARG LOCAL=l-$GLOBAL\nARG BOTH\nRUN echo 2\n"
          "ENV LOCAL=from-env\nRUN echo 3\n")
    h.build(df)
    first, second, third = h.backend.runs
    assert not any(e.startswith("GLOBAL=") for e in first.env)
    assert "GLOBAL=g" in second.env and "LOCAL=l-g" in second.env and "BOTH=outer" in second.env
    assert "LOCAL=from-env" in third.env and "LOCAL=l-g" not in third.env  # ENV wins over ARG
    assert all("GLOBAL" not in e for e in h.backend.written[-1].config["config"].get("Env", []))


def test_build_arg_overrides_default_and_unused_ones_warn(h):
    result = h.build("FROM busybox\nARG A=default\nRUN x\n", build_args={"A": "given", "EXTRA": "1"})
    assert "A=given" in last(h).env
    assert result.warnings == ["[Warning] One or more build-args ['EXTRA'] were not consumed"]


def test_arg_without_value_is_unset(h):
    h.build("FROM busybox\nARG NOVALUE\nRUN x\n")
    assert not any(e.startswith("NOVALUE") for e in last(h).env)


def test_unknown_base_image(h):
    with pytest.raises(BuildError, match=r"Dockerfile:2: base image 'nosuch' not found"):
        h.build("FROM busybox AS a\nFROM nosuch\n")


def test_scratch_base(h):
    h.write({"f": "x"})
    result = h.build("FROM scratch\nCOPY f /f\nCMD [\"/f\"]\n")
    assert len(result.image.layers) == 1 and result.image.config["config"]["Cmd"] == ["/f"]
    assert result.image.config["os"] == "linux"


def test_several_tags(h):
    result = h.build("FROM busybox\n", tags=["a:1", "b:2"])
    assert h.backend.tags == {"a:1": result.image_id, "b:2": result.image_id}


def test_workdir_created_only_when_missing(h):
    result = h.build("FROM busybox\nWORKDIR /etc\nWORKDIR /new/dir\n")
    files = h.files(result)
    assert files["/new/dir"].is_dir()
    assert len(result.image.layers) == 2  # base + the one WORKDIR that created something
    assert result.image.history[1].get("empty_layer") is True


def test_shebang_heredoc_runs_through_its_interpreter(h):
    h.build("FROM busybox\nRUN <<EOF\n#!/usr/bin/python3 -u\nprint('hi')\nEOF\n")
    argv = last(h).argv
    assert argv[:2] == ["/bin/sh", "-c"] and "exec '/usr/bin/python3' '-u' \"$f\"" in argv[2]
    assert argv[3:] == ["sampan-heredoc", "#!/usr/bin/python3 -u\nprint('hi')\n"]


def test_backend_may_adopt_the_upper_dir_as_the_unpacked_layer(h):
    adopted = []

    def adopt(layers, upper):
        assert (upper / "made").read_text() == "x"  # still intact when offered
        adopted.append((layers[-1], upper))
        return True

    def effect(call, upper, out):
        (upper / "made").write_text("x")
        return 0

    h.backend.effect = effect
    h.backend.adopt_layer_dir = adopt
    result = h.build("FROM busybox\nRUN make\n")
    assert adopted and adopted[0][0] == result.image.layers[-1]
    assert adopted[0][1].exists()  # the builder did not delete what the backend took


def test_invalid_tag_fails_before_any_step(h):
    from sampan.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        h.build("FROM busybox\nRUN x\n", tags=["UPPER:case"])
    assert h.backend.runs == []


@pytest.mark.skipif(os.geteuid() != 0, reason="owners can only be set as root")
def test_workdir_created_for_the_current_user(h):
    files = h.files(h.build("FROM busybox\nUSER app\nWORKDIR /home/app/work\n"))
    st = files["/home/app/work"].stat()
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    assert oct(st.st_mode & 0o777) == "0o755"
    with pytest.raises(BuildError, match=r"Dockerfile:3: WORKDIR: unable to find user ghost"):
        h.build("FROM busybox\nUSER ghost\nWORKDIR /w\n")


def test_network_names(h):
    h.build("FROM busybox\nRUN x\n", network="bridge")
    assert last(h).network == "bridge"
    with pytest.raises(BuildError, match=r"Dockerfile:2: RUN --network=wifi"):
        h.build("FROM busybox\nRUN --network=wifi y\n")
