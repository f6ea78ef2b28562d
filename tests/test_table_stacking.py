"""Stacked networks on tables: shared encoding, per-member embeddings, the averaging TabularModel."""

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import stacking, tabular
from kerasopt.models import build_model
from tests.fresh_process import load_in_fresh_process, save_case

SEEDS = [3, 7, 11]
ARCH = {"hidden_units": (8,), "jit_compile": False}


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.normal(50, 10, n),
        "score": np.where(rng.random(n) < 0.15, np.nan, rng.normal(0, 1, n)),  # gaps: a missing indicator
        "colour": rng.choice(["red", "green", "blue"], n),                       # one-hot
        "model": rng.choice([f"m{i}" for i in range(24)], n),                    # > ONE_HOT_MAX: embedded
    })
    label = np.where(frame["size"] + 8 * (frame["colour"] == "red") > 52, "high", "low")
    return frame, label


@pytest.fixture(scope="module")
def table():
    frame, label = _frame()
    schema = tabular.infer_schema(frame)
    _, target = tabular.encode_target(label)
    return frame, label, schema, target


def test_encoding_layout_matches_the_embedding_blocks(table):
    frame, _, schema, _ = table
    x = stacking.encode_table(schema, frame)
    blocks = tabular.embedding_blocks(schema)
    assert x.shape == (len(frame), tabular.encoded_width(schema))
    assert len(blocks) == 1
    start, width, dim, index = blocks[0]
    assert (width, dim, index) == (25, tabular.embedding_dim(24), 1)  # 24 models + the unseen slot
    np.testing.assert_array_equal(x[:, start:start + width].sum(axis=1), 1.0)  # one category per row


@pytest.mark.parametrize("embedding", ["none", "periodic"])
def test_untrained_table_members_are_the_single_table_networks(table, embedding):
    frame, _, schema, target = table
    schema = tabular.infer_schema(frame, numeric_embedding=embedding)
    model = stacking.build_stacked_table_model(schema, 3, target, seed=SEEDS, **ARCH)
    stacked = stacking.predict_members(model, stacking.encode_table(schema, frame))
    for k, seed in enumerate(SEEDS):
        single = build_model(schema, target=target, seed=seed, **ARCH)
        np.testing.assert_allclose(stacked[:, k], single.predict(frame, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("task, embedding", [("classification", "none"), ("regression", "none"),
                                             ("classification", "periodic")])
def test_table_member_trained_stacked_matches_the_single_table_network(task, embedding):
    frame, label = _frame(60)
    y = label if task == "classification" else frame["size"].to_numpy() * 3 + 100
    frame = frame.drop(columns="size") if task == "regression" else frame
    schema = tabular.infer_schema(frame, numeric_embedding=embedding)
    _, target = tabular.encode_target(y, task=task)
    arch = {**ARCH, "optimizer": "sgd", "learning_rate": 0.05, "l1": 1e-3}
    rows = [np.arange(0, 40), np.arange(20, 60)]
    model = stacking.build_stacked_table_model(schema, 2, target, seed=SEEDS[:2], **arch)
    x, targets = stacking.encode_table(schema, frame), stacking.table_targets(target, y)
    stacking.train_stacked(model, x, targets, rows, epochs=2, batch_size=16, seed=[5, 6])
    after = stacking.predict_members(model, x)
    encoded = target.encode(y)
    for k, seed in enumerate(SEEDS[:2]):
        single = build_model(schema, target=target, seed=seed, **arch)
        single.run_eagerly = True  # tracing takes longer than these few steps
        for epoch in range(2):
            index, weight = stacking.plan_batches(rows, 16, [5, 6], epoch)
            for i, w in zip(index, weight):
                batch = i[w[:, k] > 0, k]
                single.train_on_batch(single.convert_inputs(frame.iloc[batch]), encoded[batch])
        expected = single.predict(frame, verbose=0)
        if task == "regression":  # the stacked member predicts the standardized target
            expected = (expected - target.mean) / target.std
        np.testing.assert_allclose(after[:, k], expected, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def saved(table, tmp_path_factory):
    """The trained stacked model, its averaging ensemble and a single table network, both loaded in ONE fresh process."""
    frame, label, schema, target = table
    folder = str(tmp_path_factory.mktemp("tables"))
    stacked = stacking.build_stacked_table_model(schema, 3, target, seed=SEEDS, **ARCH)
    x = stacking.encode_table(schema, frame)
    stacking.train_stacked(stacked, x, stacking.table_targets(target, label), [np.arange(80)] * 3, epochs=2, seed=0)
    ensemble = stacking.stacked_ensemble(stacked, schema, target)
    rows = frame.iloc[:10].copy()
    rows.loc[rows.index[0], "model"] = "never seen"
    rows.loc[rows.index[1], "score"] = np.nan
    single = build_model(frame, label, hidden_units=(8,), seed=0)
    single_untrained_layers = {layer.name for layer in single.layers if layer.trainable_weights}
    single.fit(frame, label, epochs=1, verbose=0)
    models = {"ensemble": (ensemble, rows), "single": (single, frame.iloc[:10])}
    cases = {name: save_case(folder, name, model, inputs) for name, (model, inputs) in models.items()}
    expected = {name: model.predict(inputs, verbose=0) for name, (model, inputs) in models.items()}
    return {"stacked": stacked, "ensemble": ensemble, "rows": rows, "single": single,
            "single_layers": single_untrained_layers, "expected": expected,
            "loaded": load_in_fresh_process(folder, cases, "import kerasopt, keras")}


def test_table_ensemble_averages_the_members_and_loads_in_a_fresh_process(table, saved):
    _, _, schema, _ = table
    assert isinstance(saved["ensemble"], tabular.TabularModel)
    expected = saved["expected"]["ensemble"]
    np.testing.assert_allclose(expected, stacking.predict_members(saved["stacked"], stacking.encode_table(
        schema, saved["rows"])).mean(axis=1), rtol=1e-5, atol=1e-6)
    loaded = saved["loaded"]["ensemble"]
    assert "error" not in loaded, loaded
    np.testing.assert_array_equal(loaded["predictions"], expected)
    assert loaded["type"] == "TabularModel"


def test_single_table_model_embeds_in_the_network_and_loads_in_a_fresh_process(table, saved):
    _, _, schema, _ = table
    embedding = saved["single"].get_layer("embeddings")
    assert isinstance(embedding, tabular.BlockEmbedding) and embedding.blocks == [b[:3] for b in
                                                                               tabular.embedding_blocks(schema)]
    assert saved["single_layers"] == {"embeddings", "dense_0", "output"}
    loaded = saved["loaded"]["single"]
    assert "error" not in loaded, loaded
    np.testing.assert_array_equal(loaded["predictions"], saved["expected"]["single"])


def test_regression_table_ensemble_restores_the_target_scale():
    frame, _ = _frame(40)
    y = frame["size"].to_numpy() * 1000.0
    schema = tabular.infer_schema(frame)
    _, target = tabular.encode_target(y, task="regression")
    model = stacking.build_stacked_table_model(schema, 2, target, seed=0, **ARCH)
    standardized = stacking.predict_members(model, stacking.encode_table(schema, frame)).mean(axis=1)
    ensemble = stacking.stacked_ensemble(model, schema, target)
    np.testing.assert_allclose(ensemble.predict(frame, verbose=0), standardized * target.std + target.mean,
                               rtol=1e-5)


def test_block_embedding_multiplies_each_block_by_its_matrix():
    x = np.array([[5.0, 0, 1, 0, 7.0], [6.0, 1, 0, 0, 8.0]], "float32")  # a one-hot block at 1..3
    layer = tabular.BlockEmbedding([(1, 3, 2)], name="embeddings")
    layer.build(x.shape)
    table = np.arange(6, dtype="float32").reshape(3, 2)
    layer.tables[0].assign(table)
    np.testing.assert_array_equal(layer(x), [[5.0, 2, 3, 7.0], [6.0, 0, 1, 8.0]])
    stacked = tabular.BlockEmbedding.from_config(layer.get_config())  # (batch, K, features): a matrix per member
    stacked.build((None, 2, 5))
    stacked.tables[0].assign(np.stack([table, table + 10]))
    np.testing.assert_array_equal(stacked(np.stack([x, x], axis=1))[:, 1], [[5.0, 12, 13, 7.0], [6.0, 10, 11, 8.0]])


@pytest.mark.parametrize("blocks", [[], [(0, 3)], [(2, 2, 2), (0, 3, 2)], [(0, 3, 2), (2, 2, 2)], [(0, 0, 2)]],
                         ids=["empty", "pair", "unordered", "overlapping", "zero-width"])
def test_block_embedding_rejects_bad_blocks(blocks):
    with pytest.raises(ValueError, match="Invalid value for `blocks`"):
        tabular.BlockEmbedding(blocks)


def test_embeddings_refuse_a_normalization_of_the_one_hot_blocks():
    x = np.eye(4, dtype="float32")
    with pytest.raises(ValueError, match="`embeddings` needs `normalize=False`"):
        stacking.build_stacked_model(x, members=2, embeddings=[(0, 4, 2)])


def test_build_stacked_table_model_sets_the_inputs_itself(table):
    _, _, schema, target = table
    with pytest.raises(ValueError, match="sets `normalize`"):
        stacking.build_stacked_table_model(schema, 2, target, normalize=True)
