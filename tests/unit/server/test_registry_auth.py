"""X-Registry-Auth decoding and the JSON progress messages, without a service."""

import base64
import json

import pytest

from sampan.engine.reports import ProgressEvent
from sampan.server.errors import ApiError
from sampan.server.progress_json import error_message, progress_message
from sampan.server.registry_auth import decode_auth


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_credentials_decode_from_base64url_json_without_padding():
    assert decode_auth(_b64({"username": "a", "password": "p~?>", "serveraddress": "h"})) == ("a", "p~?>")
    assert decode_auth(_b64({"auth": base64.b64encode(b"bob:pw").decode()})) == ("bob", "pw")


@pytest.mark.parametrize("value", [None, "", "e30=", _b64({"serveraddress": "h"})])
def test_nothing_or_an_empty_object_is_anonymous(value):
    assert decode_auth(value) is None


@pytest.mark.parametrize("value", ["%%%", _b64([1]), _b64({"username": 5}), "bm90IGpzb24",
                                   "A" * (70 << 10)])
def test_malformed_headers_are_a_400_that_never_echoes_them(value):
    with pytest.raises(ApiError) as e:
        decode_auth(value)
    assert e.value.status == 400 and value[:20] not in e.value.message


def test_progress_messages_have_dockers_shape():
    assert progress_message(ProgressEvent("Pull complete", "abc")) == {
        "status": "Pull complete", "id": "abc", "progressDetail": {}}
    moving = progress_message(ProgressEvent("Downloading", "abc", 500, 1000))
    assert moving["progressDetail"] == {"current": 500, "total": 1000} and "500B/1kB" in moving["progress"]
    assert error_message("boom") == {"errorDetail": {"message": "boom"}, "error": "boom"}


def test_build_events_read_as_the_classic_builders_lines():
    from sampan.engine.reports import BuildEvent
    from sampan.server.progress_json import BuildLines
    lines = BuildLines()
    events = [BuildEvent("step", 1, "[internal] load build definition from Dockerfile"),
              BuildEvent("note", 1, "transferring dockerfile: 20B done"),
              BuildEvent("step", 2, "[1/2] FROM busybox"), BuildEvent("done", 2),
              BuildEvent("step", 3, "[2/2] RUN echo hi"), BuildEvent("output", 3, "hi"),
              BuildEvent("step", 4, "[2/2] COPY . /"), BuildEvent("cached", 4),
              BuildEvent("step", 5, "exporting to image"), BuildEvent("note", 5, "writing image x")]
    text = "".join(m["stream"] for ev in events for m in lines(ev))
    assert text == "Step 1/2 : FROM busybox\nStep 2/2 : RUN echo hi\nhi\nStep 2/2 : COPY . /\n ---> Using cache\n"
