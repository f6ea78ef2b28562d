"""`kerasopt export`: a SavedModel that serves raw named columns in a process without kerasopt."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import kerasopt
from kerasopt.cli import main

# Loads the SavedModels with TensorFlow alone and calls their serving signature.
SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cases, result = json.load(open(sys.argv[1])), {}
    for name, case in cases.items():
        serve = tf.saved_model.load(case["dir"]).signatures["serving_default"]
        inputs = {key: tf.constant(values, dtype=tf.string if case["kinds"][key] == "text" else tf.float32)
                  for key, values in case["columns"].items()}
        outputs = {key: value.numpy() for key, value in serve(**inputs).items()}
        result[name] = {key: [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
                        for key, value in outputs.items() if key != "classes"}
        if "classes" in outputs:
            result[name]["classes"] = [c.decode() for c in outputs["classes"][0].tolist()]
    result["kerasopt_imported"] = any(m == "kerasopt" or m.startswith("kerasopt.") for m in sys.modules)
    print(json.dumps(result))
""")

# Rows to serve: a gap in every column, a category never seen in training.
ROWS = pd.DataFrame({"bill length": [39.0, np.nan, 50.0, 45.0], "island": ["Biscoe", None, "Mars", "Dream"],
                     "flag": [1.0, 0.0, np.nan, 1.0]})


def _training_frame(n=30):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bill length": rng.normal(40, 5, n) + 3 * (np.arange(n) % 3),
                          "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
                          "flag": (np.arange(n) % 2).astype(float)})
    frame.loc[1, "bill length"] = np.nan
    frame.loc[[4, 7], "island"] = None  # a missing category of its own, which a served "" must reach
    return frame


def _case(out_dir, names):
    """The serving inputs of ROWS: NaN for a missing number, "" for a missing category."""
    columns, kinds = {}, {}
    for column, key in names.items():
        values = ROWS[column]
        text = not pd.api.types.is_numeric_dtype(values)
        columns[key] = [("" if pd.isna(v) else v) for v in values] if text else values.tolist()
        kinds[key] = "text" if text else "number"
    return {"dir": str(out_dir), "columns": columns, "kinds": kinds}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    frame = _training_frame()
    species = pd.Series(np.array(["Adelie", "Chinstrap", "Gentoo"])[np.arange(30) % 3], name="species")
    classifier = kerasopt.build_model(frame, species, hidden_units=(4,), seed=0)
    classifier.fit(frame, species, epochs=1, verbose=0)
    classifier.save(folder / "classifier.keras")
    assert main(["export", "--model", str(folder / "classifier.keras"), "--out", str(folder / "classifier")]) == 0

    mass = pd.Series(3000 + 40 * frame["bill length"].fillna(40).to_numpy(), name="mass")
    regressor = kerasopt.build_model(frame, mass, hidden_units=(4,), seed=0)
    kerasopt.train(regressor, frame, mass, epochs=1, seed=0)
    names = kerasopt.export_model(regressor, folder / "regressor")

    cases = {"classifier": _case(folder / "classifier", names), "regressor": _case(folder / "regressor", names)}
    (folder / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run([sys.executable, "-c", SERVE, str(folder / "cases.json")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, classifier, regressor, names, json.loads(done.stdout.strip().splitlines()[-1])


def test_serving_never_imports_kerasopt(served):
    assert served[4]["kerasopt_imported"] is False


def test_signature_names_keep_the_columns_spelled_for_tensorflow(served):
    assert served[3] == {"bill length": "bill_length", "island": "island", "flag": "flag"}


def test_classifier_serves_original_labels_and_probabilities(served):
    _, classifier, _, _, result = served
    out = result["classifier"]
    assert out["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert out["label"] == classifier.predict_labels(ROWS).tolist()
    np.testing.assert_allclose(out["probabilities"], classifier.predict_proba(ROWS), rtol=1e-5, atol=1e-6)


def test_regressor_serves_the_restored_value(served):
    _, _, regressor, _, result = served
    np.testing.assert_allclose(result["regressor"]["value"], regressor.predict_labels(ROWS), rtol=1e-5)
    assert abs(np.mean(result["regressor"]["value"])) > 100  # on the target's scale, not standardized


def test_export_refuses_an_existing_directory_in_one_line(served, capsys):
    folder = served[0]
    assert main(["export", "--model", str(folder / "classifier.keras"), "--out", str(folder / "classifier")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("kerasopt export: error: Output path ") and "--overwrite" in error
    assert "\n" not in error


def test_signature_names_are_valid_and_distinct():
    from kerasopt.export import signature_names
    from kerasopt.tabular import infer_schema

    frame = pd.DataFrame({"a b": [1.5, 2, 3], "a/b": [3.5, 1, 2], "_x": [1.5, 5, 2], "ok.1": [2.5, 1, 9]})
    schema = infer_schema(frame)
    assert signature_names(schema) == {"a b": "a_b", "a/b": "a_b_2", "_x": "x_x", "ok.1": "ok.1"}
