"""Fault injection for the tests of the distributed tuner; not part of kerasopt.

A test puts this folder first on `PYTHONPATH` and sets `KERASOPT_TEST_FAULT`
to `<tuner id>:<marker file>`. Python imports `sitecustomize` at start-up in
every process the launcher starts; in the process whose `KERASTUNER_TUNER_ID`
is that tuner id, the first training of its first trial then ends the process
abruptly (`os._exit(17)`, like a kill) after one epoch, once: the marker file
records that it happened, so the restarted process runs normally.

Trials train as stacked models through `kerasopt.stacking.train_stacked`
(called from `kerasopt.tuning._stacked`, which looks it up on the module at
each call), so the crash is a callback added to that function's `callbacks`.
"""

import os

FAULT_ENV = "KERASOPT_TEST_FAULT"


def _install(tuner_id: str, marker: str) -> None:
    import keras

    from kerasopt import stacking

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not os.path.exists(marker):
                with open(marker, "w", encoding="utf-8") as f:
                    f.write(f"{tuner_id} {os.getpid()}")
                os._exit(17)

    real_train_stacked = stacking.train_stacked

    def train_stacked(*args, callbacks=None, **kwargs):
        return real_train_stacked(*args, callbacks=[*(callbacks or []), Crash()], **kwargs)

    stacking.train_stacked = train_stacked


_fault = os.environ.get(FAULT_ENV, "")
if _fault.count(":") >= 1:
    _who, _marker = _fault.split(":", 1)
    if os.environ.get("KERASTUNER_TUNER_ID") == _who:
        _install(_who, _marker)
