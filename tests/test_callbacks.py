import io
import re

import keras
import numpy as np
import pytest

from kerasopt.callbacks import LearningRateLogger, MonitorCheck, PenaltyLogger, ProgressLine


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


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def drive(callback, logs_per_epoch):
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_per_epoch):
        callback.on_epoch_end(epoch, logs)
    callback.on_train_end()


def test_progress_line_updates_one_line_per_phase_on_a_terminal(monkeypatch):
    # a clock that advances 1 ms per reading, so the projected time left cannot depend on the machine's load
    ticks = iter(range(10**6))
    monkeypatch.setattr("kerasopt.callbacks.time.perf_counter", lambda: next(ticks) / 1000)
    stream = FakeStream(tty=True)
    logs = [{"loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.5}, {"loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.625}]
    drive(ProgressLine("early-stopping run", epochs=300, bounded=True, stream=stream), logs)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")  # one line, rewritten
    lines = text.rstrip("\n").split("\r")[1:]
    assert re.fullmatch(r"early-stopping run: epoch 1/300, val_accuracy 0\.5000, 0:00 elapsed", lines[0])
    assert re.fullmatch(r"early-stopping run: epoch 2/300, val_accuracy 0\.6250, 0:00 elapsed, at most 0:00 left",
                        lines[1])
    # the phase ended before its last epoch: the line stays with what happened
    assert re.fullmatch(r"early-stopping run: stopped early at epoch 2/300, val_accuracy 0\.6250, done in 0:00 *",
                        lines[2])


def test_progress_line_is_silent_when_not_a_terminal():
    stream = FakeStream(tty=False)
    drive(ProgressLine("refit", epochs=3, stream=stream), [{"loss": 1.0}] * 3)
    assert stream.getvalue() == ""


def test_progress_line_text_time_left_and_metric_choice():
    refit = ProgressLine("refit", epochs=40)
    # 10 epochs in 20 s: 2 s per epoch, 30 epochs to go
    assert refit.line(9, {"loss": 0.5, "accuracy": 0.75, "learning_rate": 0.01}, 20.0, 10) == \
        "refit: epoch 10/40, accuracy 0.7500, 1:00 left"
    assert refit.line(39, {"loss": 0.25}, 3725.0, 40) == "refit: epoch 40/40, loss 0.2500, done in 1:02:05"
    bounded = ProgressLine("early-stopping run", epochs=100, monitor="val_loss", bounded=True)
    assert bounded.line(49, {"val_loss": 0.125, "val_accuracy": 0.5}, 50.0, 50) == \
        "early-stopping run: epoch 50/100, val_loss 0.1250, 0:50 elapsed, at most 0:50 left"
    # a resumed run (epochs counted from 5) estimates from the epochs of this call only
    assert refit.line(14, {}, 10.0, 5) == "refit: epoch 15/40, 0:50 left"


def test_progress_line_shorter_text_clears_the_longer_one():
    stream = FakeStream(tty=True)
    callback = ProgressLine("refit", epochs=2, stream=stream)
    drive(callback, [{"loss": 123456.0}, {"loss": 1.0}])
    first, second = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert len(second) == len(first) and second.rstrip() == "refit: epoch 2/2, loss 1.0000, done in 0:00"


def test_progress_line_serializes():
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        ProgressLine("refit", epochs=7, bounded=True)))
    assert (restored.phase, restored.epochs, restored.bounded) == ("refit", 7, True)


def test_penalty_logger_logs_the_weight_penalty_the_epoch_ends_with():
    regularizer = keras.regularizers.L1L2(0.5, 0.25)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_regularizer=regularizer),
                              keras.layers.Dense(1)])
    kernel = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0]], "float32")
    model.layers[0].kernel.assign(kernel)
    logger = PenaltyLogger()
    logger.set_model(model)
    logs = {"loss": 9.0}
    logger.on_epoch_end(0, logs)
    assert logs["penalty"] == pytest.approx(0.5 * 6.5 + 0.25 * 14.25)  # the unregularized layer adds nothing
    restored = PenaltyLogger.from_config(logger.get_config())
    assert isinstance(restored, PenaltyLogger)
