"""Loads several saved models in ONE fresh Python process (one TensorFlow start-up instead of one per model).

Each case names a `.keras` file and a pickled input (an array or a DataFrame). The child process runs
`imports`, then, for every case, loads the model, predicts the input and saves the prediction; it
reports per model the model's class, the class of one named layer, the class of the optimizer and of
its learning rate, and for a TabularModel its classes and predicted labels. An error while loading
one model is reported under that model's name, so that a failing check names the model.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap

_CHILD = """
import json, os, pickle, sys, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
with warnings.catch_warnings():
    warnings.simplefilter("error", UserWarning)  # registering kerasopt's classes must warn nothing
{imports}
import keras
import numpy as np
cases, report = json.load(open(sys.argv[1])), {{}}
for name, case in cases.items():
    try:
        model = keras.saving.load_model(case["model"])
        with open(case["rows"], "rb") as f:
            rows = pickle.load(f)
        np.save(case["out"], model.predict(rows, verbose=0))
        layer = case.get("layer")
        optimizer = model.optimizer
        info = {{"type": type(model).__name__,
                "layer": None if layer is None else type(model.get_layer(layer) if isinstance(layer, str)
                                                       else model.layers[layer]).__name__,
                "optimizer": type(optimizer).__name__, "loss": type(model.loss).__name__,
                "learning_rate": type(getattr(optimizer, "_learning_rate", None)).__name__,
                "member_scales": [float(s) for s in getattr(optimizer, "member_scales", [])]}}
        if hasattr(model, "predict_labels"):
            info.update(classes=model.classes, labels=model.predict_labels(rows).tolist())
    except Exception as e:  # reported under the model's name
        info = {{"error": repr(e)}}
    report[name] = info
print(json.dumps(report))
"""


def save_case(folder, name, model, rows, layer=None):
    """Saves `model` and its input `rows` under `folder`; returns the case for `load_in_fresh_process`."""
    model_path, rows_path = os.path.join(folder, f"{name}.keras"), os.path.join(folder, f"{name}.rows.pkl")
    model.save(model_path)
    with open(rows_path, "wb") as f:
        pickle.dump(rows, f)
    return {"model": model_path, "rows": rows_path, "out": os.path.join(folder, f"{name}.loaded.npy"),
            "layer": layer}


def load_in_fresh_process(folder, cases, imports="import keras, kerasopt"):
    """Runs the child on `cases` (name -> case); returns name -> report, with "predictions" added."""
    import numpy as np

    cases_path = os.path.join(folder, "cases.json")
    with open(cases_path, "w") as f:
        json.dump(cases, f)
    code = _CHILD.format(imports=textwrap.indent(imports, "    "))
    done = subprocess.run([sys.executable, "-c", code, cases_path], cwd=folder, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, info in report.items():
        if "error" not in info:
            info["predictions"] = np.load(cases[name]["out"])
    return report
