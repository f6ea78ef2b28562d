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


def test_naming_the_default_schedule_keeps_its_arguments():
    default, arguments = config.DEFAULTS["schedule"], config.DEFAULTS["schedule_args"]
    assert arguments  # else there is nothing to keep
    assert config.resolve(schedule=default)["schedule_args"] == arguments
    assert config.resolve({"schedule": default})["schedule_args"] == arguments
    # a name in any case is the same schedule, as `kerasopt.schedules.get` reads it
    assert config.resolve({"schedule": default.upper()})["schedule_args"] == arguments
    assert config.resolve({"schedule": default.upper()})["schedule"] == default
    # the file's arguments belong to the file's schedule
    assert config.resolve({"schedule": "step", "schedule_args": {"step_size": 3}},
                          schedule=default)["schedule_args"] == arguments


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


def test_the_facts_a_run_writes_are_ignored():
    written = {"epochs": 3, "feature_columns": ["a"], "num_classes": 4, "steps_per_epoch": 5,
               "data_source": "x.csv", "rows": {"train": 1}}
    assert config.resolve(written) == config.resolve(epochs=3)


@pytest.mark.parametrize(
    "file_config, message",
    [
        ({"categorical": 3}, "Invalid value for `categorical`: expected a list of column names. Received: categorical=3"),
        ({"task": "clustering"}, "Invalid value for `task`: expected one of 'classification', 'regression'. "
                                 "Received: task='clustering'"),
        ({"epochs": 0}, "Invalid value for `epochs`: expected a positive integer. Received: epochs=0"),
        ({"batch_norm": "yes"}, "Invalid value for `batch_norm`: expected true or false. Received: batch_norm='yes'"),
        ({"hidden_units": [16, 0]}, "Received: hidden_units=0"),
        ({"target": ""}, "Invalid value for `target`: expected a non-empty string. Received: target=''"),
        ({"validation_split": 1.0}, "Received: validation_split=1.0"),
    ],
)
def test_values_are_checked_by_the_spec(file_config, message):
    from kerasopt.errors import ArgumentError

    with pytest.raises(ArgumentError) as info:
        config.resolve(file_config)
    assert str(info.value) == message or message in str(info.value)


def test_column_options_and_task():
    resolved = config.resolve({"categorical": ["a", "b"], "numeric": "c", "drop": "d, e", "task": "Regression"})
    assert (resolved["categorical"], resolved["numeric"], resolved["drop"]) == (["a", "b"], ["c"], ["d", "e"])
    assert resolved["task"] == "regression"
    assert config.DEFAULTS["target"] is None and config.DEFAULTS["task"] is None


def test_spec_is_the_one_source():
    from kerasopt import data, spec

    assert config.DEFAULTS == spec.defaults() and spec.defaults() is not spec.defaults()
    assert list(config.DEFAULTS) == [f.name for f in spec.FIELDS]
    assert [f for g in spec.GROUPS for f in spec.fields(g)] == sorted(spec.FIELDS, key=lambda f: spec.GROUPS.index(f.group))
    assert spec.DEMO_TARGET == data.PHONE_TARGET
    assert spec.FIELD["hidden_units"].flag == "--hidden-units"
    assert [spec.format_default(spec.FIELD[n]) for n in ("hidden_units", "refit", "schedule_args", "target")] == \
        ["none", "on", '{"gamma": 0.98}', "none"]
    with pytest.raises(ValueError, match="Invalid value for `group`"):
        spec.fields("optimiser")
