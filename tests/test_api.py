import kerasopt


def test_public_names_are_pinned():
    assert kerasopt.__all__ == sorted(kerasopt.__all__)
    assert set(kerasopt.__all__) == {
        "__version__", "augmentation", "build_model", "make_regularizer", "train", "TrainResult", "run_training", "predict_file",
        "KerasoptError", "DataError", "ConfigError", "OutputExistsError", "callbacks", "config", "data",
        "errors", "models", "optimizers", "pipeline", "plotting", "schedules", "training", "tuning",
        "experiments", "tune", "TuneResult", "cross_validate",
    }


def test_every_public_name_resolves():
    for name in kerasopt.__all__:
        assert getattr(kerasopt, name) is not None, name


def test_unknown_attribute_raises_attribute_error():
    try:
        kerasopt.no_such_thing  # noqa: B018
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")
