"""Stage selection: only what the target needs, dependencies first; global ARGs in FROM."""

import pytest

from sampan.build.parse import parse_dockerfile
from sampan.build.plan import make_plan
from sampan.errors import BuildError

DF = """\
ARG BASE=busybox
FROM $BASE AS base
RUN base
FROM base AS build
RUN build
FROM busybox AS unused
RUN unused
FROM scratch AS tool
COPY --from=build /x /x
FROM busybox
COPY --from=tool /x /x
COPY --from=0 /y /y
"""


def names(plan):
    return [s.display_name for s in plan.order]


def test_default_target_is_last_and_skips_unused():
    plan = make_plan(parse_dockerfile(DF), None, {})
    assert names(plan) == ["base", "build", "tool", "stage-4"]
    assert plan.bases[0] == "busybox" and plan.base_stage[1] == 0


def test_named_target_builds_only_its_dependencies():
    plan = make_plan(parse_dockerfile(DF), "build", {})
    assert names(plan) == ["base", "build"]
    assert names(make_plan(parse_dockerfile(DF), "UNUSED", {})) == ["unused"]


def test_build_arg_overrides_global_arg_in_from():
    plan = make_plan(parse_dockerfile(DF), "base", {"BASE": "alpine"})
    assert plan.bases[0] == "alpine"
    assert "BASE" in plan.consumed


def test_unknown_target():
    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        make_plan(parse_dockerfile(DF), "nope", {})


def test_copy_from_later_stage_is_circular():
    df = parse_dockerfile("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\n")
    with pytest.raises(BuildError, match=r"Dockerfile:2: .*circular"):
        make_plan(df, None, {})


def test_from_a_later_stage_is_an_error():
    df = parse_dockerfile("FROM two AS one\nFROM a AS two\n")
    with pytest.raises(BuildError, match=r"Dockerfile:1: .*used before it is defined"):
        make_plan(df, None, {})


def test_platform_args_available_before_from():
    df = parse_dockerfile("ARG TARGETARCH\nFROM img-$TARGETARCH\n")
    plan = make_plan(df, None, {})
    assert plan.bases[0].startswith("img-") and plan.bases[0] != "img-"


def test_platform_flag_accepted_for_this_machine_only():
    from sampan.build.plan import platform_args

    host = platform_args()["TARGETPLATFORM"]
    df = parse_dockerfile("FROM --platform=$BUILDPLATFORM a AS x\nFROM --platform=" + host + " b\n")
    make_plan(df, None, {})
    other = "linux/s390x" if not host.endswith("s390x") else "linux/amd64"
    with pytest.raises(BuildError, match=r"Dockerfile:1: FROM --platform=.*this machine"):
        make_plan(parse_dockerfile(f"FROM --platform={other} a\n"), None, {})
