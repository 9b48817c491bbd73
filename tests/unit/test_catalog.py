import json

import pytest

from app.catalog import Backend, VideoMode, build_catalog
from app.config import ConfigError, load_settings


def settings(tmp_path, **env):
    env.setdefault("WEBUI_DATA_DIR", str(tmp_path / "data"))
    return load_settings([], environ=env, env_file=tmp_path / "none")


def test_without_key_only_local_models(tmp_path):
    catalog = build_catalog(settings(tmp_path))
    assert [m.id for m in catalog] == ["Step3-VL-10B"]
    vl = catalog.get("Step3-VL-10B")
    assert vl.backend is Backend.LOCAL and vl.images and vl.video is VideoMode.FRAMES
    assert vl.efforts == () and vl.effort_for("high") is None


def test_stepfun_models_with_capabilities(tmp_path):
    catalog = build_catalog(settings(tmp_path, STEP_API_KEY="k"))
    flash = catalog.get("step-3.7-flash")
    assert flash.images and flash.video is VideoMode.NATIVE and flash.max_images == 60
    assert flash.efforts == ("low", "medium", "high")
    assert flash.effort_for("low") == "low"
    v2603 = catalog.get("step-3.5-flash-2603")
    assert not v2603.images and v2603.efforts == ("low", "high")
    assert v2603.effort_for("medium") == "high"  # not a level it takes: its default instead
    for text_only in ("step-3.5-flash", "step-router-v1"):
        spec = catalog.get(text_only)
        assert not spec.images and spec.video is VideoMode.NONE and spec.efforts == ()


def test_local_models_from_env_and_discovery(tmp_path):
    catalog = build_catalog(settings(tmp_path, LOCAL_MODELS="a,b"))
    assert [m.id for m in catalog] == ["a", "b"]
    catalog = build_catalog(settings(tmp_path), discovered_local=["served-x"])
    assert [m.id for m in catalog] == ["served-x"]
    assert catalog.get("served-x").images


def test_models_file_overrides_and_adds(tmp_path):
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps(
            {
                "models": [
                    {"id": "Step3-VL-10B", "max_images": 8},
                    {"id": "text-bot", "backend": "local", "images": False, "video": "none"},
                    {"id": "step-3.7-flash", "max_images": 10},
                ]
            }
        )
    )
    catalog = build_catalog(settings(tmp_path, WEBUI_MODELS_FILE=str(path)))
    assert catalog.get("Step3-VL-10B").max_images == 8
    assert not catalog.get("text-bot").images
    assert catalog.get("step-3.7-flash") is None  # cloud entry stays off without a key
    catalog = build_catalog(settings(tmp_path, WEBUI_MODELS_FILE=str(path), STEP_API_KEY="k"))
    assert catalog.get("step-3.7-flash").max_images == 10
    assert catalog.get("step-3.7-flash").video is VideoMode.NATIVE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not readable JSON"),
        ('{"models": [{"name": "x"}]}', "must hold a list of objects with an 'id'"),
        ('[{"id": "x", "colour": "red"}]', "unknown field"),
        ('[{"id": "x", "video": "sometimes"}]', "'sometimes' is not a valid VideoMode"),
        ('[{"id": "x", "efforts": ["extreme"]}]', "efforts must be among"),
    ],
)
def test_bad_models_file(tmp_path, content, message):
    path = tmp_path / "models.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        build_catalog(settings(tmp_path, WEBUI_MODELS_FILE=str(path)))
    assert message in str(err.value)
