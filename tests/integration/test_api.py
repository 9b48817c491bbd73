"""/api/v1 on a live server, called the way the pod guide's scripts call it (plain requests)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import pytest
import requests

from tests.conftest import start_server
from tests.fake_upstream import Reply
from tests.media_factory import make_jpeg, make_png, make_video


def b64_url(path, mime="image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def post(server, body, key: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(
        f"{server.url}/api/v1/chat/completions", json=body, headers=headers, timeout=60, **kwargs
    )


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"])
    assert "Traceback" not in body["error"]["message"]
    return body["error"]


@pytest.fixture(scope="module")
def keyed_server(fake_upstream, tmp_path_factory):
    root = tmp_path_factory.mktemp("keyed")
    server = start_server(
        fake_upstream,
        root / "data",
        root,
        WEBUI_API_KEYS="key-one,key-two",
        WEBUI_MAX_UPLOAD_MB="2",
    )
    yield server
    server.stop()


def test_pod_guide_script_multi_image_then_text_only_follow_up(live_server, upstream, tmp_path):
    one = make_jpeg(tmp_path / "design_v1.jpg", (1600, 1200))
    two = make_png(tmp_path / "design_v2.png", "green")
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": b64_url(one, "image/jpeg")}},
                {"type": "image_url", "image_url": {"url": b64_url(two)}},
                {"type": "text", "text": "这两张设计稿有哪些主要区别？"},
            ],
        }
    ]
    upstream.script(Reply(content="第二版更绿。", thinking="compare both"))
    first = post(live_server, {"model": "Step3-VL-10B", "messages": messages, "max_tokens": 512})
    assert first.status_code == 200, first.text
    answer = first.json()["choices"][0]["message"]
    assert answer["content"] == "第二版更绿。" and answer["reasoning_content"] == "compare both"
    assert first.json()["usage"]["prompt_tokens"] == 11
    assert first.headers["x-request-id"]

    messages += [
        {"role": "assistant", "content": answer["content"], "reasoning_content": "compare both"},
        {"role": "user", "content": "根据这个趋势预测下一版？"},
    ]
    second = post(live_server, {"model": "Step3-VL-10B", "messages": messages, "temperature": 0.3})
    assert second.status_code == 200
    sent = upstream.chat_requests()[-1]
    images = [
        p["image_url"]["url"] for p in sent["messages"][0]["content"] if p["type"] == "image_url"
    ]
    # The 1600×1200 photo is scaled to low detail as a JPEG; the small PNG goes as it is, because
    # that is smaller than any JPEG of it.
    assert images[0].startswith("data:image/jpeg;base64,")
    assert images[1].startswith("data:image/png;base64,")
    assert len(base64.b64decode(images[1].split(",", 1)[1])) <= two.stat().st_size
    assert sent["messages"][1] == {"role": "assistant", "content": "第二版更绿。"}
    assert sent["temperature"] == 0.3 and "reasoning_effort" not in sent


def test_models_lists_only_local_without_keys(live_server, keyed_server):
    plain = requests.get(f"{live_server.url}/api/v1/models", timeout=10).json()
    assert [m["id"] for m in plain["data"]] == ["Step3-VL-10B"]
    assert plain["data"][0]["capabilities"]["video"] == "frames"
    keyed = requests.get(
        f"{keyed_server.url}/api/v1/models", headers={"Authorization": "Bearer key-two"}, timeout=10
    ).json()
    flash = next(m for m in keyed["data"] if m["id"] == "step-3.7-flash")
    assert flash["capabilities"]["reasoning_efforts"] == ["low", "medium", "high"]


def test_unknown_model_and_bad_input(live_server):
    response = post(live_server, {"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 404 and error_of(response)["code"] == "model_not_found"
    bad = {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@not-base64@@"}}
    response = post(
        live_server, {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": [bad]}]}
    )
    assert response.status_code == 400 and "base64" in error_of(response)["message"]
    response = requests.post(
        f"{live_server.url}/api/v1/chat/completions", data="{not json", timeout=10
    )
    assert response.status_code == 400 and "not valid JSON" in error_of(response)["message"]
    response = post(live_server, {"model": "Step3-VL-10B", "messages": ["hello"]})
    assert (
        response.status_code == 400
        and "messages[0] must be an object" in error_of(response)["message"]
    )
    not_image = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"hello").decode()},
    }
    response = post(
        live_server,
        {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": [not_image]}]},
    )
    assert (
        response.status_code == 400
        and "not a file this app can read" in error_of(response)["message"]
    )


def test_cloud_model_without_keys_is_refused(live_server, upstream):
    before = len(upstream.chat_requests())
    response = post(
        live_server, {"model": "step-3.7-flash", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert response.status_code == 401
    assert "WEBUI_API_KEYS" in error_of(response)["message"]
    assert len(upstream.chat_requests()) == before


def test_keys_are_required_when_set(keyed_server, upstream):
    body = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "hi"}]}
    assert post(keyed_server, body).status_code == 401
    assert post(keyed_server, body, key="key-three").status_code == 401
    assert requests.get(f"{keyed_server.url}/api/v1/models", timeout=10).status_code == 401
    response = post(keyed_server, body, key="key-one")
    assert response.status_code == 200
    assert (
        "key-one" not in keyed_server.log() and "sk-test-secret-key-123" not in keyed_server.log()
    )


def test_effort_goes_only_to_models_that_take_it(keyed_server, upstream):
    body = {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "high"}
    assert post(keyed_server, {**body, "model": "step-3.7-flash"}, key="key-one").status_code == 200
    assert upstream.chat_requests()[-1]["reasoning_effort"] == "high"
    assert post(keyed_server, {**body, "model": "Step3-VL-10B"}, key="key-one").status_code == 200
    assert "reasoning_effort" not in upstream.chat_requests()[-1]


def test_text_only_model_with_an_image(keyed_server, upstream, tmp_path):
    part = {"type": "image_url", "image_url": {"url": b64_url(make_png(tmp_path / "a.png"))}}
    response = post(
        keyed_server,
        {"model": "step-3.5-flash", "messages": [{"role": "user", "content": [part]}]},
        key="key-one",
    )
    assert response.status_code == 400 and "reads text only" in error_of(response)["message"]


def test_oversize_body_is_413(keyed_server):
    big = "x" * (11 * 1024 * 1024)
    response = post(
        keyed_server,
        {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": big}]},
        key="key-one",
    )
    assert response.status_code == 413 and error_of(response)["type"] == "request_too_large"


def test_too_many_images_for_the_model(live_server, tmp_path):
    part = {"type": "image_url", "image_url": {"url": b64_url(make_png(tmp_path / "a.png"))}}
    body = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": [part] * 33}]}
    response = post(live_server, body)
    assert response.status_code == 400 and "at most 32 images" in error_of(response)["message"]


def test_video_becomes_frames_for_the_self_hosted_model(live_server, upstream, tmp_path):
    clip = make_video(tmp_path / "screen.mp4", seconds=6)
    part = {"type": "video_url", "video_url": {"url": b64_url(clip, "video/mp4")}}
    response = post(
        live_server, {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": [part]}]}
    )
    assert response.status_code == 200, response.text
    content = upstream.chat_requests()[-1]["messages"][0]["content"]
    assert sum(p["type"] == "image_url" for p in content) == 3
    assert any(p.get("text") == "[00:05]" for p in content)


class CountingListener:
    """A TCP listener on loopback that only counts connection attempts."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x.png",
        "http://localhost:{port}/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        "http://[::1]:{port}/a.png",
        "http://[::ffff:127.0.0.1]:{port}/a.png",
        "file:///etc/passwd",
    ],
)
def test_ssrf_attempts_are_refused_without_connecting(live_server, upstream, url):
    listener = CountingListener()
    try:
        part = {"type": "image_url", "image_url": {"url": url.format(port=listener.port)}}
        response = post(
            live_server,
            {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": [part]}]},
        )
        assert response.status_code == 400
        message = error_of(response)["message"]
        assert "non-public address" in message or "must be http(s)" in message
        time.sleep(0.2)
        assert listener.connections == 0
    finally:
        listener.close()


def test_upstream_errors_keep_the_openai_shape(live_server, upstream):
    body = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "hi"}]}
    upstream.script(Reply(status=429, error_message="request limited RPM reached"))
    response = post(live_server, body)
    assert response.status_code == 429 and error_of(response)["code"] == "rate_limited"
    upstream.script(Reply(status=500))
    response = post(live_server, {**body, "stream": True})
    assert response.status_code == 502 and error_of(response)["code"] == "server"


def test_stream_dropped_midway_ends_with_an_error_event(live_server, upstream):
    upstream.script(Reply(content="a long answer that will be cut", drop_after_chunks=3))
    response = post(
        live_server,
        {"model": "Step3-VL-10B", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        stream=True,
    )
    events = [
        line[6:] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")
    ]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == "dropped"
    assert (
        "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-2])
        == "a long answer"[:12]
    )


def test_client_disconnect_cancels_upstream(live_server, upstream):
    upstream.script(Reply(content="slow " * 300, chunk_size=5, delay_s=0.02))
    before = upstream.disconnects
    with requests.post(
        f"{live_server.url}/api/v1/chat/completions",
        json={
            "model": "Step3-VL-10B",
            "stream": True,
            "messages": [{"role": "user", "content": "go"}],
        },
        stream=True,
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        for _ in range(5):
            next(lines)
    deadline = time.monotonic() + 5
    while upstream.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.disconnects == before + 1


def test_interactive_docs(live_server):
    assert requests.get(f"{live_server.url}/api/docs", timeout=10).status_code == 200
    spec = requests.get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    assert "/api/v1/chat/completions" in spec["paths"]
