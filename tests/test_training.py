import time

import keras
import numpy as np
import pytest

from kerasopt import build_model, schedules, train


def model_for(x, **kwargs):
    return build_model(x, num_classes=2, hidden_units=(8,), seed=0, **kwargs)


def test_result_holds_history_metrics_and_best_epoch(tiny_xy):
    x, y = tiny_xy
    result = train(model_for(x), x[:32], y[:32], validation_data=(x[32:40], y[32:40]),
                   test_data=(x[40:], y[40:]), epochs=6, batch_size=8, patience=2, seed=0)
    assert set(result.metrics) == {"train", "validation", "test"}
    assert set(result.metrics["test"]) == {"loss", "accuracy"}
    assert result.epochs_run == len(result.history.history["loss"]) <= 6
    val_loss = result.history.history["val_loss"]
    assert result.best_epoch == int(np.argmin(val_loss)) + 1
    # early stopping restored the best epoch's weights: evaluation reproduces that epoch's val_loss
    assert result.metrics["validation"]["loss"] == pytest.approx(val_loss[result.best_epoch - 1], rel=1e-4)


def test_seconds_is_the_wall_time_of_fit(tiny_xy):
    x, y = tiny_xy
    seen = {}

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["begin"] = time.perf_counter()
            time.sleep(0.2)  # so that a time not measured around fit falls below the lower bound

        def on_train_end(self, logs=None):
            seen["end"] = time.perf_counter()

    before = time.perf_counter()
    result = train(model_for(x), x, y, epochs=2, batch_size=8, callbacks=[Clock()], seed=0)
    after = time.perf_counter()
    assert seen["end"] - seen["begin"] <= result.seconds <= after - before


def test_learning_rate_of_every_epoch_is_recorded(tiny_xy):
    x, y = tiny_xy
    schedule = schedules.get("step", learning_rate=0.1, steps_per_epoch=6, step_size=2, gamma=0.5)
    model = model_for(x, optimizer="sgd", learning_rate=schedule)
    result = train(model, x, y, epochs=5, batch_size=8, early_stopping=False, seed=0)
    np.testing.assert_allclose(result.learning_rates, [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-6)
    assert result.history.history["learning_rate"] == result.learning_rates
    assert result.best_epoch == int(np.argmin(result.history.history["loss"])) + 1


def test_same_seed_gives_the_same_run(tiny_xy):
    x, y = tiny_xy
    runs = [train(model_for(x, dropout=0.2), x, y, validation_split=0.25, epochs=3, batch_size=8, seed=7)
            for _ in range(2)]
    assert runs[0].history.history == runs[1].history.history


def test_validation_split_is_stratified_and_sized(tiny_xy):
    x, y = tiny_xy
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["steps"] = self.params["steps"]

    result = train(model_for(x), x, y, validation_split=0.25, epochs=1, batch_size=4, callbacks=[Spy()], seed=0)
    assert seen["steps"] == 9  # 36 training rows / batch 4
    assert "validation" in result.metrics


def test_unknown_monitor_lists_available_metrics(tiny_xy):
    x, y = tiny_xy
    with pytest.raises(ValueError) as info:
        train(model_for(x), x, y, validation_split=0.25, epochs=2, monitor="val_f1", seed=0)
    assert str(info.value) == ("Invalid value for `monitor`: 'val_f1' is not a logged metric. Available metrics: "
                               "accuracy, learning_rate, loss, val_accuracy, val_loss.")


def test_reduce_lr_on_plateau_lowers_the_rate(tiny_xy):
    x, y = tiny_xy
    model = model_for(x, optimizer="sgd", learning_rate=1e-9)  # loss cannot improve at this rate
    result = train(model, x, y, epochs=4, batch_size=16, early_stopping=False, min_delta=1.0,
                   reduce_lr_on_plateau={"factor": 0.5, "patience": 1, "min_delta": 1.0}, seed=0)
    # epoch 0 sets the best loss; each later epoch fails to improve by min_delta, so with
    # patience 1 the rate halves after epochs 1 and 2
    np.testing.assert_allclose(result.learning_rates, [1e-9, 1e-9, 5e-10, 2.5e-10], rtol=1e-5)


def test_reduce_lr_on_plateau_refuses_a_schedule(tiny_xy):
    x, y = tiny_xy
    model = model_for(x, learning_rate=schedules.get("exponential", learning_rate=0.1, steps_per_epoch=1, gamma=0.9))
    with pytest.raises(ValueError, match="needs a float learning rate"):
        train(model, x, y, epochs=1, reduce_lr_on_plateau=True)


def test_reduce_lr_on_plateau_refuses_a_callable_rate(tiny_xy):
    x, y = tiny_xy
    model = model_for(x)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lambda: 0.01), loss=model.loss)
    with pytest.raises(ValueError, match="needs a float learning rate"):
        train(model, x, y, epochs=1, reduce_lr_on_plateau=True)


def test_files_from_checkpoint_csv_and_tensorboard_callbacks(tiny_xy, tmp_path):
    x, y = tiny_xy
    callbacks = [keras.callbacks.ModelCheckpoint(tmp_path / "best.keras", save_best_only=True),
                 keras.callbacks.CSVLogger(tmp_path / "log.csv"), keras.callbacks.TensorBoard(tmp_path / "tb")]
    train(model_for(x), x, y, validation_split=0.25, epochs=2, batch_size=8, seed=0, callbacks=callbacks)
    assert keras.saving.load_model(tmp_path / "best.keras").output_shape == (None, 2)
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0].split(",")[0] == "epoch" and "learning_rate" in lines[0] and len(lines) == 3
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))


class Kill(keras.callbacks.Callback):
    """Simulates a killed process at the end of an epoch (after the backup is written)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_killed_run_resumes_from_its_last_finished_epoch(tiny_xy, tmp_path):
    x, y = tiny_xy
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        train(model_for(x), x, y, epochs=5, batch_size=8, early_stopping=False,
              callbacks=[keras.callbacks.BackupAndRestore(backup), Kill(2)], seed=0)
    assert backup.exists()
    result = train(model_for(x), x, y, epochs=5, batch_size=8, early_stopping=False,
                   callbacks=[keras.callbacks.BackupAndRestore(backup)], seed=0)
    assert result.history.epoch == [3, 4]  # epochs 0-2 were finished before the kill
    assert result.epochs_run == 5
    assert not backup.exists()  # a finished run removes its backup


def test_class_weight_balanced_and_bad_value(tiny_xy):
    from kerasopt.training import class_weights as _class_weights

    weights = _class_weights("balanced", np.array([0, 0, 0, 1]))
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    x, y = tiny_xy
    with pytest.raises(ValueError, match="Received: class_weight='heavy'"):
        train(model_for(x), x, y, epochs=1, class_weight="heavy")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "Received: epochs=0"),
        ({"batch_size": -2}, "Received: batch_size=-2"),
        ({"patience": -1}, "Received: patience=-1"),
        ({"validation_split": 1.0}, r"`validation_split`: expected a number in \[0, 1\)"),
        ({"validation_split": 0.2, "validation_data": (np.zeros((2, 3)), np.zeros(2))}, "not both"),
        ({"steps_per_execution": 0}, "Received: steps_per_execution=0"),
    ],
)
def test_invalid_arguments(tiny_xy, kwargs, match):
    x, y = tiny_xy
    with pytest.raises(ValueError, match=match):
        train(model_for(x), x, y, **kwargs)


def test_a_validation_split_that_leaves_no_training_row(tiny_xy):
    x, y = tiny_xy
    with pytest.raises(ValueError, match=r"`validation_split`: holding out 0.6 of 2 rows leaves none to train on. "
                                         r"Received: validation_split=0.6"):
        train(model_for(x), x[:2], y[:2], validation_split=0.6, epochs=1)


def test_rows_mismatch(tiny_xy):
    x, y = tiny_xy
    with pytest.raises(ValueError, match="different numbers of rows: 48 and 47"):
        train(model_for(x), x, y[:-1], epochs=1)


def test_in_memory_dataset_gives_every_row_once_per_epoch():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("in_memory_dataset feeds fit on the TensorFlow backend")
    from kerasopt.training import in_memory_dataset

    x = np.arange(10, dtype="float64").reshape(10, 1)
    y = np.arange(10, dtype="int32")
    dataset = in_memory_dataset(x, y, 4, seed=0)
    orders = []
    for _ in range(2):
        batches = [(bx.numpy(), by.numpy()) for bx, by in dataset]
        assert [len(by) for _, by in batches] == [4, 4, 2]
        for bx, by in batches:
            assert bx.dtype == np.float32 and by.dtype == np.int32
            np.testing.assert_array_equal(bx[:, 0], by)  # features and targets stay paired
        order = np.concatenate([by for _, by in batches])
        assert sorted(order) == list(range(10))
        orders.append(order.tolist())
    assert orders[0] != orders[1]  # reshuffled every epoch
    fixed = [by.numpy().tolist() for _, by in in_memory_dataset(x, y, 4, shuffle=False)]
    assert fixed == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    repeated = [by.numpy() for _, by in in_memory_dataset(x, y, 4, seed=0, repeat=True).take(6)]
    assert sorted(np.concatenate(repeated[:3])) == sorted(np.concatenate(repeated[3:])) == list(range(10))


def test_a_regression_on_integer_targets_splits_without_stratifying():
    # every target value occurs once: stratifying by it would fail ("least populated class has only 1 member")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = np.arange(40)
    model = build_model(3, num_classes=None, hidden_units=(4,), seed=0)
    result = train(model, x, y, epochs=1, batch_size=8, validation_split=0.25, seed=0)
    assert set(result.metrics) == {"train", "validation"} and np.isfinite(result.metrics["validation"]["mae"])


@pytest.mark.parametrize("labels, held_out, expected", [
    ([0, 0, 1, 1], 2, True), ([0, 0, 1, 1], 1, False), ([0, 0, 1, 1], 3, False), ([0, 0, 0, 1], 2, False),
    (["a", "b", "a", "b", "c", "c"], 3, True), ([], 0, False)])
def test_can_stratify(labels, held_out, expected):
    from kerasopt.data import can_stratify

    assert can_stratify(labels, held_out) is expected
