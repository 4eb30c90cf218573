"""Parsing: directives, validation, errors carry `Dockerfile:LINE:`."""

import pytest

from sampan.build.parse import parse_dockerfile, parse_directives
from sampan.errors import BuildError


def err(text: str, name: str = "Dockerfile") -> str:
    with pytest.raises(BuildError) as info:
        parse_dockerfile(text, name)
    assert info.value.exit_code == 1
    return str(info.value)


@pytest.mark.parametrize("text,line,fragment", [
    ("FROM a\nRUN x\nFOO bar\n", 3, "unknown instruction: FOO"),
    ("FROM a\n\nCOPY onlyone\n", 3, "COPY requires at least two arguments"),
    ("FROM a\nRUN --mount=type=cache,target=/x,sharing=no true\n", 2, "unsupported sharing value"),
    ("FROM a\nRUN --mount=type=ssh true\n", 2, "type=ssh"),
    ("FROM a\n\nRUN --mount=type=secret,id=x,target=/a,size=1 true\n", 3, "unexpected key 'size'"),
    ("FROM a\nRUN --mount=type=tmpfs,target=/t,size=-1 true\n", 2, "invalid tmpfs size"),
    ("FROM a\nCOPY --frm=x a b\n", 2, "unknown flag: --frm"),
    ("FROM a\nCOPY --link=maybe a b\n", 2, "expecting boolean"),
    ("FROM a\nCOPY --chown a b\n", 2, "missing a value on flag: --chown"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", 1, "invalid name for build stage"),
    ("FROM a AS x\nFROM b AS X\n", 2, "duplicate stage name"),
    ("RUN x\nFROM a\n", 1, "only ARG may come before FROM"),
    ("FROM a\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    ("FROM a\nUSER\n", 2, "USER requires exactly one argument"),
    ("FROM a\nRUN x\nLABEL novalue\n", 3, "LABEL must have two arguments"),
    ("FROM a\nSHELL /bin/bash -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nONBUILD ONBUILD RUN x\n", 2, "ONBUILD ONBUILD"),
    ("FROM a\nONBUILD FROM b\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nHEALTHCHECK BOGUS x\n", 2, "unknown type"),
    ("FROM a\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no other arguments"),
    ("# escape=x\nFROM a\n", 1, "invalid escape token"),
])
def test_errors_name_the_line(text, line, fragment):
    message = err(text)
    assert message.startswith(f"Dockerfile:{line}: "), message
    assert fragment in message


def test_unterminated_heredoc_is_a_build_error_at_its_line():
    assert err("FROM a\nRUN true\nRUN <<EOF\necho\n") == "Dockerfile:3: unterminated heredoc"


def test_no_from():
    assert "no FROM" in err("ARG A=1\n")


def test_custom_file_name_in_errors():
    assert err("FROM a\nBAD x\n", "app.Dockerfile").startswith("app.Dockerfile:2: ")


def test_directives():
    assert parse_directives("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n") == {
        "syntax": "docker/dockerfile:1", "escape": "`"}
    # a directive after a comment or an instruction is just a comment
    assert parse_directives("# hello\n# escape=`\n") == {}
    assert parse_directives("FROM a\n# escape=`\n") == {}


def test_escape_directive_changes_continuation():
    df = parse_dockerfile("# escape=`\nFROM a\nRUN echo a `\n  b\nCOPY C:\\x \\y\n")
    assert df.escape == "`"
    run = df.stages[0].instructions[0]
    assert run.cmd == "RUN" and run.line == 3 and run.end_line == 4
    assert df.stages[0].instructions[1].args == ["C:\\x", "\\y"]


def test_stages_meta_args_and_flags():
    df = parse_dockerfile(
        "ARG BASE=a\nFROM --platform=linux/amd64 $BASE AS Build\nCOPY --from=x --chown=1:2 --link a b/\n"
        "FROM scratch\nCOPY --from=build /x /y\n")
    assert [a.args for a in df.meta_args] == [["BASE=a"]]
    assert df.stages[0].name == "build" and df.stages[0].platform == "linux/amd64"
    assert df.stages[0].instructions[0].flags == {"from": "x", "chown": "1:2", "link": "true"}
    assert df.stages[1].name is None and df.stages[1].display_name == "stage-1"


def test_heredoc_metadata():
    df = parse_dockerfile('FROM a\nCOPY <<-"EOF" /x\n\thello $A\n\tEOF\nRUN <<EOF\necho hi\nEOF\n')
    copy, run = df.stages[0].instructions
    assert copy.heredocs[0].content == "hello $A\n" and copy.heredocs[0].expand is False
    assert run.heredocs[0].content == "echo hi\n" and run.heredocs[0].expand is True


def test_onbuild_trigger_is_parsed_and_kept_as_text():
    df = parse_dockerfile("FROM a\nONBUILD COPY . /app\n")
    ob = df.stages[0].instructions[0]
    assert ob.args == ["COPY . /app"] and ob.trigger.cmd == "COPY"
