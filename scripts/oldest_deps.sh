#!/usr/bin/env bash
# Installs the oldest supported version of every dependency (the lower bounds of setup.cfg) into a
# fresh virtual environment and runs a smoke subset of the tests with it.
#
#   bash scripts/oldest_deps.sh [VENV_DIR]        # default VENV_DIR: .venv-oldest
#
# Needs Python 3.10 or 3.11 (numpy 1.23.5 has no wheel for 3.12 or later; set PYTHON to
# choose the interpreter) and downloads about 700 MB of wheels (TensorFlow alone is about 600 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-oldest}"
"${PYTHON:-python3}" -m venv "$venv"
pip="$venv/bin/python -m pip"
$pip install --quiet --upgrade pip
# Keep these pins equal to the lower bounds in setup.cfg. pyparsing: matplotlib 3.7 predates
# pyparsing 3.2, whose deprecation warnings it would raise under `-W error`.
$pip install --quiet \
    "tensorflow==2.16.1" "keras==3.7.0" "keras-tuner==1.4.7" "tensorboard==2.16.2" \
    "numpy==1.23.5" "pandas==2.0.0" "scipy==1.9.3" "scikit-learn==1.6.0" \
    "matplotlib==3.7.0" "pyparsing<3.2" "pyyaml==6.0.1" \
    "pytest>=7.4" "pytest-xdist>=3.5"
$pip install --quiet --no-deps -e .
$pip check
"$venv/bin/python" -c "import numpy, pandas, sklearn, keras, tensorflow, keras_tuner; \
print('numpy', numpy.__version__, 'pandas', pandas.__version__, 'scikit-learn', sklearn.__version__, \
'keras', keras.__version__, 'tensorflow', tensorflow.__version__, 'keras-tuner', keras_tuner.__version__)"
# Smoke subset: import, the scikit-learn contract, tables, saving and loading, the command line,
# eager predictions and scores (Model.test_step and get_metrics_result).
"$venv/bin/python" -m pytest -q -n 2 -m "not slow" -p no:cacheprovider \
    tests/test_api.py tests/test_estimators.py tests/test_tabular.py tests/test_saving.py tests/test_cli.py \
    tests/test_inference.py
