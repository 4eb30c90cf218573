"""Every metadata instruction's effect on the image config and history."""

import pytest

from sampan.errors import BuildError


def cfg(h, body: str, **kw) -> dict:
    result = h.build("FROM busybox\n" + body, **kw)
    return result.image.config["config"]


def test_env_both_forms_and_docker_docs_example(h):
    c = cfg(h, 'ENV A=1 B="x y" C=a\\ b\nENV D legacy form value\n'
               "ENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
    env = dict(e.split("=", 1) for e in c["Env"])
    assert env["A"] == "1" and env["B"] == "x y" and env["C"] == "a b"
    assert env["D"] == "legacy form value"
    # Docker docs: def=hello (expanded before the instruction), ghi=bye
    assert env["def"] == "hello" and env["ghi"] == "bye" and env["abc"] == "bye"
    assert c["Env"].count("abc=bye") == 1


def test_label_expose_user_workdir_volume_stopsignal(h):
    c = cfg(h, 'ARG P=8080\nLABEL a=b "c d"="e f"\nEXPOSE 80 53/udp $P 9000-9002/TCP\nUSER app:staff\n'
               "WORKDIR /srv\nWORKDIR sub\nVOLUME /data /logs\nVOLUME [\"/json\"]\nSTOPSIGNAL SIGINT\n")
    assert c["Labels"] == {"a": "b", "c d": "e f"}
    assert set(c["ExposedPorts"]) == {"80/tcp", "53/udp", "8080/tcp", "9000/tcp", "9001/tcp", "9002/tcp"}
    assert c["User"] == "app:staff"
    assert c["WorkingDir"] == "/srv/sub"
    assert set(c["Volumes"]) == {"/data", "/logs", "/json"}
    assert c["StopSignal"] == "SIGINT"


def test_cmd_entrypoint_shell_and_exec_forms(h):
    c = cfg(h, 'CMD echo hi\nENTRYPOINT ["/bin/app", "-v"]\n')
    assert c["Entrypoint"] == ["/bin/app", "-v"]
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"]  # CMD set in this build survives ENTRYPOINT


def test_entrypoint_resets_inherited_cmd(h):
    h.backend.add_image("withcmd", {"bin/sh": "x"}, {"Cmd": ["sh"]})
    c = h.build("FROM withcmd\nENTRYPOINT top -b\n").image.config["config"]
    assert c["Entrypoint"] == ["/bin/sh", "-c", "top -b"]
    assert c["Cmd"] is None


def test_shell_changes_shell_form_of_later_instructions(h):
    c = cfg(h, 'SHELL ["/bin/bash", "-xc"]\nCMD echo hi\nRUN echo run\n')
    assert c["Shell"] == ["/bin/bash", "-xc"]
    assert c["Cmd"] == ["/bin/bash", "-xc", "echo hi"]
    assert h.backend.runs[-1].argv == ["/bin/bash", "-xc", "echo run"]


def test_healthcheck_stored_in_config(h):
    c = cfg(h, "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --retries=3 "
               "CMD curl -f http://localhost/ || exit 1\n")
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                                "Interval": 30_000_000_000, "Timeout": 90_000_000_000,
                                "StartPeriod": 500_000_000, "Retries": 3}
    c = cfg(h, 'HEALTHCHECK CMD ["/bin/check", "x"]\n')
    assert c["Healthcheck"] == {"Test": ["CMD", "/bin/check", "x"]}
    assert cfg(h, "HEALTHCHECK NONE\n")["Healthcheck"] == {"Test": ["NONE"]}


def test_onbuild_and_maintainer(h):
    result = h.build("FROM busybox\nMAINTAINER me@example.com\nONBUILD RUN echo child\n")
    assert result.image.config["config"]["OnBuild"] == ["RUN echo child"]
    assert result.image.config["author"] == "me@example.com"
    assert h.backend.runs == []  # a trigger does not run in the image that declares it


def test_history_marks_metadata_steps_empty(h):
    result = h.build("FROM busybox\nENV A=1\nRUN true\nLABEL x=y\n")
    hist = result.image.history
    assert hist[0] == {"created_by": "base"}  # the base image's history comes first
    assert [e["created_by"] for e in hist[1:]] == ["ENV A=1", "RUN /bin/sh -c true", "LABEL x=y"]
    assert hist[1]["empty_layer"] and hist[3]["empty_layer"]
    assert hist[2].get("empty_layer") is True  # the fake RUN changed nothing


def test_build_labels_added_to_final_image(h):
    c = cfg(h, "LABEL a=1\n", labels={"b": "2", "a": "override"})
    assert c["Labels"] == {"a": "override", "b": "2"}


@pytest.mark.parametrize("body,line,fragment", [
    ("EXPOSE 80/xyz\n", 2, "invalid proto"),
    ("EXPOSE 0\n", 2, "invalid port range"),
    ("STOPSIGNAL SIGNOPE\n", 2, "invalid signal"),
    ("HEALTHCHECK --interval=5x CMD true\n", 2, "invalid duration"),
    ("HEALTHCHECK --retries=-1 CMD true\n", 2, "cannot be negative"),
    ('ENV A="${B:?B is required}"\n', 2, "B is required"),
    ("USER ${NOPE}\n", 2, "USER requires a user name"),
])
def test_bad_values_are_build_errors_with_line(h, body, line, fragment):
    with pytest.raises(BuildError) as info:
        h.build("FROM busybox\n" + body)
    assert str(info.value).startswith(f"Dockerfile:{line}: ") and fragment in str(info.value)
    assert h.backend.written == [] and h.backend.tags == {}


def test_default_path_added_when_the_base_has_none(h):
    c = cfg(h, "RUN x\n")
    assert c["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    h.backend.add_image("withpath", {"bin/sh": "x"}, {"Env": ["PATH=/custom"]})
    c = h.build("FROM withpath\nENV PATH=/opt:$PATH\n").image.config["config"]
    assert c["Env"] == ["PATH=/opt:/custom"]
