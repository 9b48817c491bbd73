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
    # Before its server has been reached it is only expected, never answered.
    assert vl.placeholder
    assert not build_catalog(settings(tmp_path), ["Step3-VL-10B"]).get("Step3-VL-10B").placeholder


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
    assert [m.id for m in catalog] == ["served-x"]  # no phantom Step3-VL-10B next to it


def test_discovered_models_the_catalog_does_not_know(tmp_path):
    """The rule: an id that names a catalog entry once the organisation prefix is removed takes
    its capabilities; any other id is text-only with its capabilities marked unknown."""
    served = ["stepfun-ai/Step3-VL-10B", "SmolLM2-135M-Instruct"]
    catalog = build_catalog(settings(tmp_path), discovered_local=served)
    vl, smol = catalog.get(served[0]), catalog.get(served[1])
    assert vl.known and vl.images and vl.video is VideoMode.FRAMES and vl.max_images == 32
    assert not smol.known and not smol.images and smol.video is VideoMode.NONE
    assert smol.as_public_dict()["capabilities_known"] is False
    assert smol.as_public_dict()["max_images"] is None


def test_a_models_file_declares_what_an_unknown_model_can_do(tmp_path):
    path = tmp_path / "models.json"
    path.write_text(json.dumps([{"id": "smol", "images": True}, {"id": "txt", "images": False}]))
    catalog = build_catalog(
        settings(tmp_path, WEBUI_MODELS_FILE=str(path)), discovered_local=["smol", "txt"]
    )
    assert catalog.get("smol").known and catalog.get("smol").images
    txt = catalog.get("txt")
    assert txt.known and not txt.images and txt.as_public_dict()["max_images"] is None
    # Declared but not served: not offered.
    assert (
        build_catalog(settings(tmp_path, WEBUI_MODELS_FILE=str(path)), ["smol"]).get("txt") is None
    )


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
    catalog = build_catalog(settings(tmp_path, WEBUI_MODELS_FILE=str(path)), ["Step3-VL-10B"])
    assert catalog.get("Step3-VL-10B").max_images == 8
    assert catalog.get("text-bot") is None  # declared, but the server does not list it
    catalog = build_catalog(
        settings(tmp_path, WEBUI_MODELS_FILE=str(path), LOCAL_MODELS="text-bot")
    )
    assert not catalog.get("text-bot").images and catalog.get("text-bot").known
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
