"""Fault injection for the tests of the distributed tuner; not part of kerasopt.

A test puts this folder first on `PYTHONPATH` and sets `KERASOPT_TEST_FAULT`
to `<tuner id>:<marker file>`. Python imports `sitecustomize` at start-up in
every process the launcher starts; in the process whose `KERASTUNER_TUNER_ID`
is that tuner id, the first training of its first trial then ends the process
abruptly (`os._exit(17)`, like a kill) after one epoch, once: the marker file
records that it happened, so the restarted process runs normally.
"""

import os

FAULT_ENV = "KERASOPT_TEST_FAULT"


def _install(tuner_id: str, marker: str) -> None:
    import keras

    from kerasopt.tuning.hypermodel import DenseHyperModel

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not os.path.exists(marker):
                with open(marker, "w", encoding="utf-8") as f:
                    f.write(f"{tuner_id} {os.getpid()}")
                os._exit(17)

    real_fit = DenseHyperModel.fit

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), Crash()]
        return real_fit(self, hp, model, x, y, validation_data=validation_data, **kwargs)

    DenseHyperModel.fit = fit


_fault = os.environ.get(FAULT_ENV, "")
if _fault.count(":") >= 1:
    _who, _marker = _fault.split(":", 1)
    if os.environ.get("KERASTUNER_TUNER_ID") == _who:
        _install(_who, _marker)
