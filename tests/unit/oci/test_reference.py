import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import InvalidArgument
from sampan.oci.reference import Reference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, full, familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1"),
    ("127.0.0.1:5000/ns/app:v1.2-rc_3", "127.0.0.1:5000/ns/app:v1.2-rc_3",
     "127.0.0.1:5000/ns/app:v1.2-rc_3"),
    ("quay.io/a__b/c-d.e", "quay.io/a__b/c-d.e:latest", "quay.io/a__b/c-d.e:latest"),
    ("Registry.Example/app", "Registry.Example/app:latest", "Registry.Example/app:latest"),
    ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
    (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", f"busybox:1@{DIGEST}"),
])
def test_normalise_and_familiar(text, full, familiar):
    r = parse_reference(text)
    assert str(r) == full
    assert r.familiar() == familiar
    assert parse_reference(full) == r


def test_parts():
    r = parse_reference("localhost:5000/ns/app:1")
    assert (r.domain, r.path, r.tag, r.digest) == ("localhost:5000", "ns/app", "1", None)
    assert r.name == "localhost:5000/ns/app"
    assert parse_reference(f"app@{DIGEST}").tag is None


@pytest.mark.parametrize("bad, words", [
    ("", "empty"),
    ("BusyBox", "lowercase"),
    ("user/App", "lowercase"),
    ("busybox:", "bad tag"),
    ("busybox:-x", "bad tag"),
    ("busybox:" + "a" * 129, "bad tag"),
    ("busybox@sha256:abc", "bad digest"),
    ("a" * 64, "64-byte"),
    ("app//x", "repository name"),
    ("-app", "repository name"),
    ("app_", "repository name"),
    ("my_host.com/app", "registry host"),
    (":tag", "missing"),
    ("x/" + "a" * 260, "longer than"),
])
def test_invalid(bad, words):
    with pytest.raises(InvalidArgument) as e:
        parse_reference(bad)
    assert words in str(e.value)
    assert "\n" not in str(e.value)


_comp = st.from_regex(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", fullmatch=True).filter(
    lambda s: len(s) < 30)
_domain = st.sampled_from(["docker.io", "localhost", "localhost:5000", "quay.io",
                           "registry.example.com:443", "127.0.0.1:5000", "Ex.Org"])
_tag = st.from_regex(r"[\w][\w.-]{0,20}", fullmatch=True).filter(str.isascii)
_digest = st.from_regex(r"[a-f0-9]{64}", fullmatch=True).map(lambda h: "sha256:" + h)


@st.composite
def references(draw):
    domain = draw(_domain)
    path = "/".join(draw(st.lists(_comp, min_size=1, max_size=3)))
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if domain == "docker.io" and "." in path.split("/")[0]:
        # docker.io/a.b/c has no unambiguous familiar form: "a.b/c" names host a.b (as in Docker)
        path = "x" + path.split("/", 1)[0].replace(".", "_") + "/" + path.split("/", 1)[1]
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)
    if tag is None and digest is None:
        tag = "latest"
    return Reference(domain, path, tag, digest)


@given(references())
@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex draws are slow on a busy machine
def test_roundtrip_full_and_familiar(r):
    assert parse_reference(str(r)) == r
    assert parse_reference(r.familiar()) == r


@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(s):
    try:
        r = parse_reference(s)
    except InvalidArgument:
        return
    assert parse_reference(str(r)) == r


# The path and tag checks are hand-written (no regex compile on `run`): they must agree
# with Docker's grammar written as a regex, on grammar-shaped and arbitrary strings.
_path_chars = st.text(alphabet="ab09._-/A\n", max_size=12)


@given(_path_chars | st.lists(_comp, min_size=1, max_size=3).map("/".join))
def test_valid_path_agrees_with_docker_grammar(s):
    import re
    from sampan.oci.reference import PATH_PATTERN, valid_path
    assert valid_path(s) == bool(re.fullmatch(PATH_PATTERN, s))


@given(st.text(alphabet="aZ09_.-é\n", max_size=130) | _tag)
def test_valid_tag_agrees_with_docker_grammar(s):
    import re
    from sampan.oci.reference import valid_tag
    assert valid_tag(s) == bool(re.fullmatch(r"[\w][\w.-]{0,127}", s, re.ASCII))
