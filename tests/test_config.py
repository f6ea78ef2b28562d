import pytest

from kerasopt import config
from kerasopt.errors import ConfigError


def test_layers_defaults_file_and_overrides():
    resolved = config.resolve({"epochs": 5, "hidden-units": 16}, epochs=7, l2=None)
    assert resolved["epochs"] == 7  # an override beats the file
    assert resolved["hidden_units"] == [16]  # dashes accepted, an int becomes one layer
    assert resolved["l2"] == config.DEFAULTS["l2"]  # None means "flag not given"
    assert set(resolved) == set(config.DEFAULTS)


def test_a_new_schedule_does_not_inherit_the_default_schedule_arguments():
    assert config.resolve()["schedule_args"] == config.DEFAULTS["schedule_args"]
    assert config.resolve(schedule="step")["schedule_args"] == {}
    assert config.resolve({"schedule": "step", "schedule_args": {"step_size": 3}})["schedule_args"] == {"step_size": 3}


@pytest.mark.parametrize(
    "file_config, message",
    [
        ({"epoch": 3}, "Unknown configuration key 'epoch'. Did you mean 'epochs'?"),
        ({"schedule_args": [1]}, "Invalid value for `schedule_args`: expected a mapping"),
        ({"optimizer_args": "beta_2=0.99"}, "Invalid value for `optimizer_args`"),
    ],
)
def test_bad_configurations(file_config, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        config.resolve(file_config)


def test_load_file_json_yaml_and_errors(tmp_path):
    (tmp_path / "c.json").write_text('{"epochs": 4}')
    (tmp_path / "c.yml").write_text("epochs: 6\nhidden_units: [8, 4]\n")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "bad.json").write_text("{epochs: 4")
    (tmp_path / "empty.yaml").write_text("")
    assert config.load_file(tmp_path / "c.json") == {"epochs": 4}
    assert config.load_file(tmp_path / "c.yml") == {"epochs": 6, "hidden_units": [8, 4]}
    assert config.load_file(tmp_path / "empty.yaml") == {}
    with pytest.raises(ConfigError, match="must hold a mapping of option names to values, not list"):
        config.load_file(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="cannot be read"):
        config.load_file(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="Config file not found"):
        config.load_file(tmp_path / "missing.json")
