import keras
import pytest

from kerasopt.callbacks import LearningRateLogger, MonitorCheck


class FakeModel:
    def __init__(self, rate):
        self.optimizer = keras.optimizers.SGD(learning_rate=rate)


def test_learning_rate_logger_reports_the_rate_the_epoch_began_with():
    logger = LearningRateLogger()
    logger.set_model(FakeModel(0.125))
    logs = {"loss": 1.0}
    logger.on_epoch_begin(0)
    logger.model.optimizer.learning_rate = 0.5  # changed during the epoch
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": 1.0, "learning_rate": 0.125}


def test_learning_rate_logger_keeps_an_existing_entry():
    logger = LearningRateLogger()
    logger.set_model(FakeModel(0.1))
    logs = {"learning_rate": 0.05}
    logger.on_epoch_begin(0)
    logger.on_epoch_end(0, logs)
    assert logs["learning_rate"] == 0.05


def test_monitor_check_passes_known_and_rejects_unknown_metric():
    MonitorCheck("val_loss").on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    with pytest.raises(ValueError, match="'val_auc' is not a logged metric. Available metrics: loss, val_loss."):
        MonitorCheck("val_auc").on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    MonitorCheck("val_auc").on_epoch_end(1, {"loss": 1.0})  # checked on the first epoch only


def test_callbacks_serialize():
    check = MonitorCheck("loss")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(check))
    assert isinstance(restored, MonitorCheck) and restored.monitor == "loss"
