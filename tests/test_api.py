import kerasopt


def test_public_names_are_pinned():
    assert kerasopt.__all__ == sorted(kerasopt.__all__)
    assert set(kerasopt.__all__) == {
        "__version__", "augmentation", "build_model", "make_regularizer", "train", "TrainResult", "run_training", "predict_file",
        "KerasoptError", "ArgumentError", "DataError", "ConfigError", "OutputExistsError", "callbacks", "config",
        "data", "errors", "models", "optimizers", "pipeline", "plotting", "schedules", "spec", "stacking", "tabular", "training",
        "tuning", "experiments", "tune", "TuneResult", "cross_validate_config", "evaluate_file", "Table", "DenseClassifier", "DenseRegressor", "estimators",
        "evaluation", "bagging", "export", "export_model", "losses",
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


def test_error_hierarchy():
    from kerasopt import errors

    assert issubclass(errors.KerasoptError, Exception) and not issubclass(errors.KerasoptError, ValueError)
    assert issubclass(errors.ArgumentError, errors.KerasoptError) and issubclass(errors.ArgumentError, ValueError)
    assert issubclass(errors.ConfigError, errors.ArgumentError)
    for cls in (errors.DataError, errors.OutputExistsError):
        assert issubclass(cls, errors.KerasoptError) and issubclass(cls, ValueError)
    assert sorted(errors.__all__) == sorted(["KerasoptError", "ArgumentError", "ConfigError", "DataError",
                                             "OutputExistsError"])


def test_argument_checks_raise_argument_errors():
    import pytest

    from kerasopt import _validation, errors

    with pytest.raises(errors.ArgumentError, match=r"^Invalid value for `dropout`: expected a number in \[0, 1\). "
                                                   r"Received: dropout=1.0$"):
        _validation.unit_interval("dropout", 1.0)
