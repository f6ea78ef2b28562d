"""kerasopt._io: reading JSON with or without a fallback, and the refusals of existing outputs."""

import json

import pytest

from kerasopt import _io
from kerasopt.errors import DataError, OutputExistsError


@pytest.mark.parametrize("content, error", [(None, FileNotFoundError), ("{not json", json.JSONDecodeError)])
def test_read_json_raises_or_returns_its_default(tmp_path, content, error):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error):
        _io.read_json(path)
    assert _io.read_json(path, default={}) == {} and _io.read_json(path, default=None) is None
    _io.write_json(path, {"a": [1, 2]})
    assert _io.read_json(path) == _io.read_json(path, default=None) == {"a": [1, 2]}


def test_output_file_and_model_file_checks(tmp_path):
    path = tmp_path / "pred.csv"
    _io.check_out_file(path)
    path.write_text("earlier")
    with pytest.raises(OutputExistsError, match=r"^Output file .*pred.csv already exists. Choose another --out, "):
        _io.check_out_file(path)
    _io.check_out_file(path, overwrite=True)
    with pytest.raises(DataError, match=r"^Model file not found: .*none.keras. Pass the model.keras"):
        _io.check_model_file(tmp_path / "none.keras")
    _io.check_model_file(path)
