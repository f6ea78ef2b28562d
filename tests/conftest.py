import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per TensorFlow process when pytest-xdist runs a process per core: two workers of two
    # threads each would fight over the two cores. Subprocesses that the tests start inherit it.
    for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import pathlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
PHONE_TRAIN = SHARED / "data" / "phone" / "train.csv"
PHONE_UNLABELED = SHARED / "data" / "phone" / "unlabeled.csv"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Keeps the tests that share a module-scoped fixture on one xdist worker (`--dist loadgroup`).

    Otherwise the two workers would each build the fixture (a trained model, a finished run); the
    other tests go one by one to whichever worker is free.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for name in item.fixturenames:
            definitions = info.name2fixturedefs.get(name)
            if definitions and definitions[-1].scope == "module":
                item.add_marker(pytest.mark.xdist_group(item.module.__name__))
                break


@pytest.fixture(autouse=True)
def _seed():
    """Seed every test, as KerasTuner's test suite does."""
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture
def phone_csv(tmp_path):
    """A small labelled CSV of phone-like rows (generated, not the shared file)."""
    from kerasopt.data import make_phone_data

    path = tmp_path / "phone.csv"
    make_phone_data(200, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_csv(tmp_path):
    """80 phone-like rows, for the tuning tests."""
    from kerasopt.data import make_phone_data

    path = tmp_path / "tiny.csv"
    make_phone_data(80, seed=5).to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 3)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    return x, y


def reaches_target(accuracy: float, rows: int, target: float, level: float = 0.05) -> bool:
    """Whether an accuracy measured on `rows` test rows is consistent with a true accuracy of `target` or more.

    One-sided binomial test: False when a model whose accuracy is `target` would score this low
    with probability below `level`, so a check fails for a model that misses the target, not for
    the sampling noise of a small test set.
    """
    from scipy.stats import binom

    return bool(binom.cdf(round(accuracy * rows), rows, target) >= level)
