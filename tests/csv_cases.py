"""Tiny odd and bad CSV files, each with the behaviour kerasopt should show (issue 9, sections 2, 3 and 7).

Data only: no test here runs kerasopt (tests/test_csv_cases.py checks that each file is what it says).
Wire them into the CLI tests with, for example:

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_csv_case(case, tmp_path, capsys):
        train, predict = write_case(case, tmp_path)
        code = main(["train", "--data", str(train), "--target", case.target, "--out", str(tmp_path / "run"),
                     "--epochs", "1"])
        assert code == (0 if case.outcome != "error" else 1)
        if case.message:
            assert case.message in capsys.readouterr().err
        ...

`outcome` is "ok" (trains, nothing printed about the file), "note" (trains; one line says what was
done) or "error" (exit 1, one line, no traceback, nothing written). `message` is the fragment the
line should hold (the words are a proposal: adjust the fragment when the wording is settled, never the
behaviour). `stage` says which command meets the oddity: "train", or "predict" with a model trained on
`train` and then given `predict`.
"""

from __future__ import annotations

import dataclasses
import os

N_ROWS = 40  # enough for kerasopt's default validation split (it refuses fewer than ~10 rows)


@dataclasses.dataclass(frozen=True)
class CsvCase:
    """One tiny CSV file and the behaviour expected of kerasopt.

    Attributes:
        name: Short id for parametrize.
        train: Bytes of the labelled file (bytes, since encodings are part of some cases).
        target: The target column.
        task: The task kerasopt should infer: "classification" or "regression".
        outcome: "ok", "note" or "error".
        behaviour: The expected behaviour, in a short sentence.
        message: A fragment of the expected note or error line, or None.
        stage: "train" or "predict".
        predict: Bytes of the unlabelled file for a "predict" case, else None.
    """

    name: str
    train: bytes
    target: str
    task: str
    outcome: str
    behaviour: str
    message: str | None = None
    stage: str = "train"
    predict: bytes | None = None


def _rows(n=N_ROWS, sep=",", header=("size", "count", "colour", "label"), cell=None, label=None):
    """`n` rows of a small learnable table: label "yes" when size > 10, colour from three values.

    `cell(i, column, value)` may replace a cell's text; `label(i)` the label's.
    """
    lines = [sep.join(header)]
    for i in range(n):
        values = {"size": f"{(i * 7) % 20 + 0.5}", "count": str(i % 5), "colour": ("red", "green", "blue")[i % 3],
                  "label": "yes" if (i * 7) % 20 + 0.5 > 10 else "no"}
        if label is not None:
            values["label"] = label(i)
        row = []
        for column in header:
            value = values.get(column, "")
            if cell is not None:
                value = cell(i, column, value)
            row.append(value)
        lines.append(sep.join(row))
    return lines


def _text(lines, newline="\n"):
    return (newline.join(lines) + newline).encode("utf-8")


def _regression_target(i):
    return f"{((i * 7) % 20) * 1.5 + 0.25:.2f}"


FRENCH = {"red": "rouge", "green": "vert", "blue": "bleu clair"}

CASES = [
    CsvCase("comma", _text(_rows()), "label", "classification", "ok",
            "The control: a plain comma-separated UTF-8 file trains."),
    CsvCase("semicolon", _text(_rows(sep=";")), "label", "classification", "ok",
            "Delimiter sniffed: a semicolon-separated file with decimal points reads as the comma one (same "
            "columns, same values: 'size' is numbers, not text)."),
    CsvCase("semicolon_decimal_comma", _text(_rows(sep=";", cell=lambda i, c, v: v.replace(".", ",")
                                                   if c == "size" else v)),
            "label", "classification", "ok",
            "Semicolon file with decimal commas (what spreadsheets write where the decimal mark is a comma): "
            "'size' reads as the numbers of the comma file (0,5 is 0.5), not as text."),
    CsvCase("tab", _text(_rows(sep="\t")), "label", "classification", "ok",
            "Delimiter sniffed: a tab-separated file reads as the comma one."),
    CsvCase("utf8_bom", b"\xef\xbb\xbf" + _text(_rows()), "label", "classification", "ok",
            "A UTF-8 byte-order mark is dropped: the first column is named 'size', not '\\ufeffsize'."),
    CsvCase("crlf", _text(_rows(), newline="\r\n"), "label", "classification", "ok",
            "Windows line endings read as the plain file (no '\\r' in the last column's values)."),
    CsvCase("utf8_accents", _text(_rows(cell=lambda i, c, v: FRENCH.get(v, v) if c == "colour" else v,
                                        label=lambda i: ("oui", "non", "peut-être")[i % 3])),
            "label", "classification", "ok",
            "Valid UTF-8 text with accents (labels 'oui', 'non', 'peut-être') round-trips into predictions "
            "unchanged."),
    CsvCase("latin1_bytes", _text(_rows()).replace(b"green", b"caf\xe9"), "label", "classification", "error",
            "Bytes that do not decode as UTF-8 (latin-1 'café'): one line naming the file, the line number and "
            "the byte, and that the file is not UTF-8; no traceback.", message="UTF-8"),
    CsvCase("duplicate_columns", _text(_rows(header=("size", "size", "colour", "label"))), "label",
            "classification", "error",
            "Two columns named 'size': an error naming the duplicate (pandas would silently rename the second "
            "to 'size.1').", message="size"),
    CsvCase("all_missing_column", _text(_rows(header=("size", "count", "empty", "colour", "label"))), "label",
            "classification", "note",
            "A column with no value in any row carries no signal: dropped with a one-line note naming it.",
            message="empty"),
    CsvCase("label_seen_once", _text(_rows(label=lambda i: "maybe" if i == 5 else ("yes" if (i * 7) % 20 + 0.5 > 10
                                                                                 else "no"))),
            "label", "classification", "error",
            "One class ('maybe') has a single row: it can be neither learned nor validated, so the file is "
            "refused with one line naming the class and the fix (remove the row or merge the class); no "
            "traceback from the stratified split.", message="has a single row of class 'maybe'"),
    CsvCase("mixed_numbers_and_text", _text(_rows(cell=lambda i, c, v: ("several" if i % 9 == 4 else v)
                                                  if c == "count" else v)), "label", "classification", "error",
            "Column 'count' holds numbers and the text 'several': one line naming the column, the text value "
            "and its row, and the two fixes (--categorical count, or --numeric count to read the text as "
            "missing).", message="Column 'count' mixes numbers and text, e.g. 'several'"),
    CsvCase("unseen_category_at_predict", _text(_rows()), "label", "classification", "ok",
            "At predict time a colour never seen in training ('purple') goes to the out-of-vocabulary bucket: "
            "every row gets a prediction, no error.", stage="predict",
            predict=_text(_rows(n=6, header=("size", "count", "colour"),
                                cell=lambda i, c, v: "purple" if (c == "colour" and i == 2) else v))),
    CsvCase("regression_target_gaps", _text(_rows(header=("size", "count", "colour", "price"),
                                                  cell=lambda i, c, v: ("" if i in (3, 17) else _regression_target(i))
                                                  if c == "price" else v)),
            "price", "regression", "error",
            "A continuous target with empty cells in data rows 4 and 18: refused with those row numbers (or, "
            "if so decided, dropped with a note that gives them).", message="missing"),
]


def write_case(case: CsvCase, folder) -> tuple[str, str | None]:
    """Writes a case's files into `folder`; returns (train path, predict path or None)."""
    train = os.path.join(folder, f"{case.name}.csv")
    with open(train, "wb") as f:
        f.write(case.train)
    predict = None
    if case.predict is not None:
        predict = os.path.join(folder, f"{case.name}_predict.csv")
        with open(predict, "wb") as f:
            f.write(case.predict)
    return train, predict
