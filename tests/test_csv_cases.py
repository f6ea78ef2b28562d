"""Each file in tests/csv_cases.py is what its name says (read with the standard library and pandas only)."""

import csv
import io

import pandas as pd
import pytest

from .csv_cases import CASES, N_ROWS, write_case

BY_NAME = {c.name: c for c in CASES}


def _frame(data: bytes, sep=","):
    return pd.read_csv(io.BytesIO(data), sep=sep)


def test_names_unique_and_fields_valid():
    assert len(BY_NAME) == len(CASES)
    for case in CASES:
        assert case.outcome in {"ok", "note", "error"} and case.stage in {"train", "predict"}
        assert case.task in {"classification", "regression"}
        assert (case.predict is not None) == (case.stage == "predict")
        assert case.outcome == "ok" or case.message, case.name  # a note or an error says something checkable


def test_the_issues_cases_are_all_there():
    assert {"semicolon", "tab", "utf8_bom", "latin1_bytes", "duplicate_columns", "all_missing_column",
            "label_seen_once", "mixed_numbers_and_text", "unseen_category_at_predict",
            "regression_target_gaps"} <= set(BY_NAME)


@pytest.mark.parametrize("name, sep", [("semicolon", ";"), ("tab", "\t")])
def test_other_delimiters_sniffed_and_same_as_comma(name, sep):
    text = BY_NAME[name].train.decode("utf-8")
    assert csv.Sniffer().sniff(text.splitlines()[0] + "\n" + text.splitlines()[1]).delimiter == sep
    pd.testing.assert_frame_equal(_frame(BY_NAME[name].train, sep), _frame(BY_NAME["comma"].train))
    assert _frame(BY_NAME[name].train).shape[1] == 1  # read as commas, it is one column


def test_decimal_commas():
    case = BY_NAME["semicolon_decimal_comma"]
    assert b"0,5;" in case.train and b"0.5" not in case.train
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(case.train), sep=";", decimal=","),
                                  _frame(BY_NAME["comma"].train))


def test_bom_and_crlf_differ_only_in_bytes():
    bom = BY_NAME["utf8_bom"].train
    assert bom.startswith(b"\xef\xbb\xbf") and bom[3:] == BY_NAME["comma"].train
    assert next(csv.reader(io.StringIO(bom.decode("utf-8"))))[0] == "\ufeffsize"  # the trap with plain utf-8
    assert pd.read_csv(io.BytesIO(bom)).columns[0] == "size"
    crlf = BY_NAME["crlf"].train
    assert b"\r\n" in crlf and crlf.replace(b"\r\n", b"\n") == BY_NAME["comma"].train


def test_accents_are_valid_utf8_and_latin1_is_not():
    labels = set(_frame(BY_NAME["utf8_accents"].train)["label"])
    assert labels == {"oui", "non", "peut-être"}
    data = BY_NAME["latin1_bytes"].train
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8")
    assert data[info.value.start] == 0xE9 and data.decode("latin-1").count("café") == N_ROWS // 3


def test_duplicate_columns_are_silently_renamed_by_pandas():
    frame = _frame(BY_NAME["duplicate_columns"].train)
    assert list(frame.columns) == ["size", "size.1", "colour", "label"]


def test_all_missing_column():
    frame = _frame(BY_NAME["all_missing_column"].train)
    assert frame["empty"].isna().all() and frame.drop(columns="empty").notna().all().all()


def test_label_seen_once():
    counts = _frame(BY_NAME["label_seen_once"].train)["label"].value_counts()
    assert counts["maybe"] == 1 and (counts.drop("maybe") >= 2).all()


def test_mixed_numbers_and_text():
    column = _frame(BY_NAME["mixed_numbers_and_text"].train)["count"]
    assert not pd.api.types.is_numeric_dtype(column)
    numeric = pd.to_numeric(column, errors="coerce")
    assert set(column[numeric.isna()]) == {"several"} and numeric.notna().sum() > N_ROWS // 2


def test_unseen_category_at_predict():
    case = BY_NAME["unseen_category_at_predict"]
    train, predict = _frame(case.train), _frame(case.predict)
    assert set(predict["colour"]) - set(train["colour"]) == {"purple"}
    assert list(predict.columns) == [c for c in train.columns if c != case.target]


def test_regression_target_gaps():
    case = BY_NAME["regression_target_gaps"]
    target = _frame(case.train)[case.target]
    assert pd.api.types.is_float_dtype(target) and target.nunique() > 10
    assert [i + 1 for i in target.index[target.isna()]] == [4, 18]  # data rows, counted from 1


def test_write_case(tmp_path):
    train, predict = write_case(BY_NAME["unseen_category_at_predict"], tmp_path)
    assert open(train, "rb").read() == BY_NAME["unseen_category_at_predict"].train
    assert predict is not None and open(predict, "rb").read() == BY_NAME["unseen_category_at_predict"].predict
    assert write_case(BY_NAME["comma"], tmp_path)[1] is None
