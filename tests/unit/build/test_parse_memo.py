"""The tokenizer's output kept by Dockerfile text: a remembered parse is the same parse."""

from sampan.build.cache import BuildCache, ParseMemo
from sampan.build.parse import parse_dockerfile
from sampan.state.db import Database

TEXT = """# escape=`
ARG BASE=busybox
FROM $BASE AS one
RUN --mount=type=cache,target=/c --network=none echo a `
    b
COPY --chown=1:2 <<EOF <<-"TWO" /dst/
hello $X
EOF
\ttabbed
TWO
ONBUILD RUN echo later
HEALTHCHECK --interval=5s CMD ["true"]
FROM scratch
COPY --from=one /x /y
"""


def test_a_remembered_parse_is_the_same(tmp_path):
    db = Database(tmp_path / "db")
    memo = ParseMemo(db)
    first = parse_dockerfile(TEXT, "Dockerfile", memo)
    assert memo.get(TEXT) is not None
    again = parse_dockerfile(TEXT, "Dockerfile", memo)
    assert again == first
    assert first == parse_dockerfile(TEXT, "Dockerfile")
    assert len(first.stages) == 2 and first.stages[0].instructions[1].heredocs[1].content == "tabbed\n"
    assert memo.get(TEXT + "\n") is None
    BuildCache(db).prune()
    assert memo.get(TEXT) is None
    db.close()
