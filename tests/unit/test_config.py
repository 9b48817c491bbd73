import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def settings_from(tmp_path, argv=(), **env):
    env.setdefault("WEBUI_DATA_DIR", str(tmp_path / "data"))
    return load_settings(list(argv), environ=env, env_file=tmp_path / "missing.env")


def test_defaults(tmp_path):
    s = settings_from(tmp_path)
    assert (s.host, s.port) == ("0.0.0.0", 7860)
    assert s.step_base_url == "https://api.stepfun.com/v1"
    assert s.local_base_url == "http://127.0.0.1:8000/v1"
    assert s.local_api_key == "EMPTY"
    assert not s.stepfun_enabled
    assert s.concurrency >= 32
    assert s.batch_concurrency == 3  # a few at a time: StepFun's lowest tier
    assert settings_from(tmp_path, WEBUI_BATCH_CONCURRENCY="4").batch_concurrency == 4
    assert s.db_path == (tmp_path / "data").resolve() / "webui.sqlite3"


def test_flags_beat_environment_which_beats_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("WEBUI_PORT=7001\nWEBUI_HOST=10.0.0.1\nSTEP_API_KEY=from-file\n")
    env = {"WEBUI_PORT": "7002", "WEBUI_DATA_DIR": str(tmp_path / "d")}
    s = load_settings([], environ=env, env_file=env_file)
    assert s.port == 7002 and s.host == "10.0.0.1" and s.step_api_key == "from-file"
    s = load_settings(["--port", "7003", "--host", "127.0.0.1"], environ=env, env_file=env_file)
    assert (s.port, s.host) == (7003, "127.0.0.1")


def test_stepfun_key_alias(tmp_path):
    assert settings_from(tmp_path, STEPFUN_API_KEY="k").step_api_key == "k"
    assert settings_from(tmp_path, STEPFUN_API_KEY="a", STEP_API_KEY="b").step_api_key == "b"


def test_lists_and_auth(tmp_path):
    s = settings_from(
        tmp_path,
        LOCAL_MODELS="Step3-VL-10B, other ,",
        WEBUI_AUTH="alice:pw1,bob:pw:2",
        WEBUI_API_KEYS="k1,k2",
    )
    assert s.local_models == ("Step3-VL-10B", "other")
    assert s.auth == (("alice", "pw1"), ("bob", "pw:2"))
    assert s.api_keys == ("k1", "k2")


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"WEBUI_PORT": "abc"}, [], "WEBUI_PORT='abc' is not a port number"),
        ({"WEBUI_PORT": "70000"}, [], "WEBUI_PORT=70000 is not a port number"),
        ({}, ["--port", "x1"], "--port='x1' is not a port number"),
        ({"STEP_BASE_URL": "api.stepfun.com"}, [], "STEP_BASE_URL='api.stepfun.com' must be"),
        ({"WEBUI_AUTH": "alice"}, [], "WEBUI_AUTH must be user:password pairs"),
        ({"WEBUI_CONCURRENCY": "0"}, [], "WEBUI_CONCURRENCY=0 is out of range"),
        ({"WEBUI_BATCH_CONCURRENCY": "0"}, [], "WEBUI_BATCH_CONCURRENCY=0 is out of range"),
        ({"WEBUI_BATCH_CONCURRENCY": "two"}, [], "WEBUI_BATCH_CONCURRENCY='two' is not a whole"),
        ({"WEBUI_MODELS_FILE": "/nope.json"}, [], "WEBUI_MODELS_FILE='/nope.json' does not exist"),
        ({"MODEL_SERVER_AUTOSTART": "maybe"}, [], "MODEL_SERVER_AUTOSTART='maybe' must be true"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path, env, argv, message):
    with pytest.raises(ConfigError, match=None) as err:
        settings_from(tmp_path, argv, **env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(ConfigError, match=r"WEBUI_DATA_DIR=.* is not a writable directory"):
        settings_from(tmp_path, WEBUI_DATA_DIR=str(blocker / "sub"))


def test_repr_hides_secrets(tmp_path):
    s = settings_from(tmp_path, STEP_API_KEY="sk-very-secret", WEBUI_API_KEYS="hidden-key")
    assert "sk-very-secret" not in repr(s) and "hidden-key" not in repr(s)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "abc"], "webui: --port='abc' is not a port number (1-65535)\n"),
        (["--data-dir", "/proc/forbidden"], "webui: WEBUI_DATA_DIR='/proc/forbidden' is not a"),
    ],
)
def test_webui_exits_with_one_line_not_a_traceback(tmp_path, args, expected):
    result = subprocess.run(
        [sys.executable, str(REPO / "webui.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "WEBUI_DATA_DIR": str(tmp_path / "d")},
    )
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
