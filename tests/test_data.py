import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from kerasopt import data
from kerasopt.errors import ArgumentError, DataError

from .conftest import PHONE_TRAIN


def frame(**overrides):
    base = {"a": [1.0, 2.0, 3.0, 4.0], "b": [5, 6, 7, 8], "price_range": [0, 1, 0, 1]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_to_arrays_returns_float32_features_and_int_labels():
    x, y, columns = data.to_arrays(frame())
    assert x.dtype == np.float32 and x.shape == (4, 2)
    assert y.dtype == np.int32 and y.tolist() == [0, 1, 0, 1]
    assert columns == ["a", "b"]


def test_id_column_is_not_a_feature():
    _, _, columns = data.to_arrays(frame(id=[10, 11, 12, 13]))
    assert columns == ["a", "b"]


@pytest.mark.parametrize(
    "bad, target, message",
    [
        (frame(), "price_rnage",
         "Target column 'price_rnage' not found. Did you mean 'price_range'? Available columns: a, b, price_range."),
        (frame(a=[1.0, "x", 3.0, 4.0]), "price_range",
         "Column 'a' has a non-numeric value 'x' in data row 2 (file line 3). Fix or remove that row."),
        (frame(b=[5, 6, np.nan, 8]), "price_range",
         "Column 'b' has a missing (NaN) value in data row 3 (file line 4). Fill or remove rows with missing values."),
        (frame(a=[1.0, np.inf, 3.0, 4.0]), "price_range", "Column 'a' has an infinite value in data row 2"),
        (frame(price_range=[0, 1, 2, 4]), "price_range",
         "Labels in 'price_range' must be the integers 0..K-1 with every class present. Found: 0, 1, 2, 4."),
        (frame(price_range=[1, 2, 1, 2]), "price_range", "Found: 1, 2."),
        (frame(price_range=[0.5, 1, 0, 1]), "price_range", "Found: 0, 0.5, 1."),
        (frame(price_range=[-1, 0, 1, 0]), "price_range", "Found: -1, 0, 1."),
        (frame(price_range=[0, 0, 0, 0]), "price_range", "holds a single class"),
        (frame(price_range=[0, 1, None, 1]), "price_range", "missing or non-numeric label"),
        (frame(price_range=[0, 1, "two", 1]), "price_range", "non-numeric label 'two' in data row 3"),
        (pd.DataFrame({"price_range": [0, 1]}), "price_range", "No feature columns"),
    ],
)
def test_to_arrays_rejects_bad_frames(bad, target, message):
    with pytest.raises(DataError) as info:
        data.to_arrays(bad, target)
    assert message in str(info.value)


def test_load_csv_errors(tmp_path):
    with pytest.raises(DataError, match="Data file not found: .*missing.csv"):
        data.load_csv(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="Data file is empty"):
        data.load_csv(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b,price_range\n")
    with pytest.raises(DataError, match="has a header but no data rows"):
        data.load_csv(tmp_path / "header.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81\x92")
    with pytest.raises(DataError, match="not a readable CSV"):
        data.load_csv(tmp_path / "binary.csv")
    with pytest.raises(DataError, match="is a directory"):
        data.load_csv(tmp_path)


def test_split_sizes_and_stratification():
    y = np.repeat([0, 1, 2, 3], 25)
    x = np.arange(100, dtype="float32")[:, None]
    s = data.split(x, y, validation_size=0.25, test_size=0.2, seed=0)
    assert [len(s.y_train), len(s.y_val), len(s.y_test)] == [60, 20, 20]
    for part in (s.y_train, s.y_val, s.y_test):
        counts = np.bincount(part, minlength=4)
        assert counts.max() - counts.min() <= 1
    rows = np.concatenate([s.x_train, s.x_val, s.x_test]).ravel()
    assert sorted(rows.tolist()) == list(range(100))  # a partition: nothing lost or repeated
    again = data.split(x, y, validation_size=0.25, test_size=0.2, seed=0)
    np.testing.assert_array_equal(s.x_train, again.x_train)


def test_split_without_test_or_validation():
    y = np.repeat([0, 1], 5)
    s = data.split(np.zeros((10, 1)), y, validation_size=0.0, test_size=0.0)
    assert len(s.y_train) == 10 and len(s.y_val) == 0 and len(s.y_test) == 0


def test_split_with_too_few_rows():
    y = np.array([0, 1, 2, 3, 0, 1])
    with pytest.raises(DataError, match="Too few rows to split: 6 rows and 4 classes leave 3 rows for the train set"):
        data.split(np.zeros((6, 1)), y, validation_size=0.2, test_size=0.2)


def test_make_phone_data_is_deterministic_balanced_and_phone_shaped():
    a = data.make_phone_data(400, seed=5)
    pd.testing.assert_frame_equal(a, data.make_phone_data(400, seed=5))
    assert not a.equals(data.make_phone_data(400, seed=6))
    assert list(a.columns) == data.PHONE_FEATURES + [data.PHONE_TARGET]
    assert a[data.PHONE_TARGET].value_counts().to_dict() == {0: 100, 1: 100, 2: 100, 3: 100}
    binary = ["blue", "dual_sim", "four_g", "three_g", "touch_screen", "wifi"]
    assert set(np.unique(a[binary].to_numpy())) == {0, 1}
    assert a["ram"].between(256, 3998).all() and a["px_width"].between(500, 1998).all()
    # the label follows ram most of all
    assert a.corr()["price_range"].drop("price_range").idxmax() == "ram"


@pytest.mark.skipif(not PHONE_TRAIN.exists(), reason="shared phone data not present")
def test_generated_ranges_match_the_real_columns():
    real = pd.read_csv(PHONE_TRAIN)
    fake = data.make_phone_data(2000, seed=0)
    assert list(real.columns) == list(fake.columns)
    for column in data.PHONE_FEATURES:
        lo, hi = real[column].min(), real[column].max()
        span = hi - lo
        assert fake[column].min() >= lo - 0.05 * span and fake[column].max() <= hi + 0.05 * span, column
        assert (real[column].dtype.kind == "f") == (fake[column].dtype.kind == "f"), column


@pytest.mark.parametrize("name, content, columns, first_row", [
    ("comma", "a,b,y\n1.5,x,0\n", ["a", "b", "y"], [1.5, "x", 0]),
    ("semicolon, decimal comma", "a;b;y\n1,5;x;0\n", ["a", "b", "y"], [1.5, "x", 0]),
    ("semicolon, decimal point", "a;b;y\n1.5;x,z;0\n", ["a", "b", "y"], [1.5, "x,z", 0]),
    ("tab", "a\tb\ty\n1.5\tx y\t0\n", ["a", "b", "y"], [1.5, "x y", 0]),
    ("utf-8 with BOM", "\ufeffa,b,y\n1.5,é,0\n", ["a", "b", "y"], [1.5, "é", 0]),
    ("quoted delimiters", 'a,b,y\n"x;1",2,0\n"z;3",4,1\n', ["a", "b", "y"], ["x;1", 2, 0]),
    ("one column", "a\n1\n2\n", ["a"], [1]),
])
def test_load_csv_dialects(tmp_path, name, content, columns, first_row):
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8")
    frame = data.load_csv(path)
    assert list(frame.columns) == columns
    assert frame.iloc[0].tolist() == first_row


def test_load_csv_names_bytes_that_do_not_decode(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        data.load_csv(path)
    assert str(info.value) == (f"Data file {path} is not a readable CSV file: byte 0xe9 on line 2 is not UTF-8 "
                               "text. Pass its encoding, e.g. --encoding latin-1 (or cp1252) for a file exported "
                               "from a spreadsheet, or save it as UTF-8.")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8"])
def test_load_csv_reads_the_named_encoding(tmp_path, encoding):
    path = tmp_path / "encoded.csv"
    path.write_bytes("a;b\n1;caf\u00e9\n2;na\u00efve\n".encode(encoding))
    frame = data.load_csv(path, encoding=encoding)
    assert list(frame.columns) == ["a", "b"] and frame["b"].tolist() == ["caf\u00e9", "na\u00efve"]


def test_load_csv_names_bytes_outside_the_named_encoding_and_unknown_encodings(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"a,b\n1,\x81\n")  # 0x81 is undefined in cp1252
    with pytest.raises(DataError, match="byte 0x81 on line 2 is not cp1252 text. Pass the file's encoding with "
                                        "--encoding."):
        data.load_csv(path, encoding="cp1252")
    with pytest.raises(ValueError, match="Invalid value for `encoding`: expected a text encoding known to Python"):
        data.load_csv(path, encoding="klingon")


def test_load_csv_refuses_duplicate_column_names(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a,b,c\n1,2,3,4,5\n")
    with pytest.raises(DataError, match="duplicate column names: 'a', 'b'. Give every column its own name."):
        data.load_csv(path)


@pytest.mark.parametrize("counts", [[14, 10, 6], [14, 10, 1]])
def test_every_held_out_split_is_train_test_split(tmp_path, counts):
    """Each caller holds out scikit-learn's `train_test_split` rows for the same arguments, stratified where
    it can be (a class of one row: not stratified, where `split_rows` and the tuner used to fail)."""
    from kerasopt import estimators, training
    from kerasopt.tabular import encode_target
    from kerasopt.tuning.search import make_tuner
    from kerasopt.tuning.space import resolve_space

    y = np.repeat([0, 1, 2], counts)
    rows = np.arange(len(y))

    def split(rows, size, sort=False):
        try:
            parts = train_test_split(rows, test_size=size, stratify=y[rows], random_state=3)
        except ValueError:  # a class too small to stratify
            parts = train_test_split(rows, test_size=size, random_state=3)
        return [np.sort(p) for p in parts] if sort else parts

    def same(got, expected):
        assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))

    rest, test = split(rows, 0.2)
    same(data.split_rows(y, 0.25, 0.2, seed=3), [*split(rest, 0.25), test])
    x_train, _, (x_val, _), _ = training._split(None, rows[:, None], y, None, 0.25, None, 3)
    same([x_train.ravel(), x_val.ravel()], split(rows, 0.25))
    fit = estimators._rows({"validation_split": 0.25, "seed": 3}, 0, y, "classification")
    same([fit["train"], fit["validation"]], split(rows, 0.25, sort=True))
    tuner = make_tuner("random", resolve_space(), target=encode_target(y, min_rows_per_class=1)[1],
                       objective="val_accuracy", cv=None, max_trials=1, executions_per_trial=1, seed=3,
                       out=str(tmp_path), patience=1, validation_split=0.25, verbose=0)
    same(tuner._folds(y)[0], split(rows, 0.25, sort=True))


def test_kfold_rows_stratify_as_far_as_the_classes_allow():
    def sklearn_folds(splitter, labels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(splitter.split(np.zeros(len(labels)), labels))

    def same(got, expected):
        assert all(np.array_equal(a, b) for g, e in zip(got, expected) for a, b in zip(g, e))

    rare = np.array([0] * 10 + [1] * 2)  # class 1 misses a fold: stratified all the same, without sklearn's warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(data.kfold_rows(rare, 3, seed=0, stratify=True),
             sklearn_folds(StratifiedKFold(3, shuffle=True, random_state=0), rare))
    small = np.repeat(["a", "b", "c"], 3)  # no class fills 4 folds (StratifiedKFold raises): plain folds
    same(data.kfold_rows(small, 4, seed=0, stratify=True), sklearn_folds(KFold(4, shuffle=True, random_state=0), small))
    with pytest.raises(ArgumentError, match=r"`folds`: expected at most one fold per row \(9 rows\). Received: folds=10"):
        data.kfold_rows(small, 10, seed=0, stratify=False)
    with pytest.raises(ArgumentError, match=r"^Invalid value for `cv`: expected at most one fold per row \(9 rows\). "
                                            r"Received: cv=10$"):  # the caller's option
        data.kfold_rows(small, 10, seed=0, stratify=False, name="cv")


@pytest.mark.parametrize("stratify", [True, False])
def test_kfold_rows_hold_out_every_row_once(stratify):
    labels = np.array(["a"] * 6 + ["b"] * 3)
    folds = data.kfold_rows(labels, 3, seed=0, stratify=stratify)
    held_out = np.concatenate([h for _, h in folds])
    np.testing.assert_array_equal(np.sort(held_out), np.arange(9))
    for train, h in folds:
        np.testing.assert_array_equal(train, np.setdiff1d(np.arange(9), h))
        if stratify:
            assert sorted(labels[h]) == ["a", "a", "b"]
    again = data.kfold_rows(labels, 3, seed=0, stratify=stratify)
    assert all((a == b).all() for (a, _), (b, _) in zip(folds, again))
