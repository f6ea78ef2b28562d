"""Stacked training: K independent Dense networks trained as one Keras model (`docs/stacking.md`).

`layers`: the stacked layers and penalties; `optimizers`: the elementwise
optimizers and their `Memberwise` classes (one learning rate per member);
`builder`: `build_stacked_model` and the XLA policy `jit_for`; `training`:
`train_stacked`; `ensemble`: `predict_members` and `stacked_ensemble`;
`tables`: table networks over one shared encoding of the columns.
"""

from __future__ import annotations

from kerasopt.stacking.builder import POPULATION_KEYS, build_stacked_model, jit_for
from kerasopt.stacking.ensemble import predict_members, stacked_ensemble
from kerasopt.stacking.layers import MemberwiseL1L2, MemberwiseRegularizer, StackedBatchNormalization, StackedDropout
from kerasopt.stacking.optimizers import MEMBERWISE_OPTIMIZERS
from kerasopt.stacking.tables import build_stacked_table_model, encode_table, table_targets
from kerasopt.stacking.training import MemberEarlyStopping, StackedTrainResult, plan_batches, train_stacked

# MemberwiseSGD, MemberwiseAdam, ...
globals().update({cls.__name__: cls for cls in MEMBERWISE_OPTIMIZERS.values()})

__all__ = [
    "MemberEarlyStopping",
    "MemberwiseL1L2",
    "MemberwiseRegularizer",
    "POPULATION_KEYS",
    "StackedBatchNormalization",
    "StackedDropout",
    "StackedTrainResult",
    "build_stacked_model",
    "build_stacked_table_model",
    "encode_table",
    "jit_for",
    "plan_batches",
    "predict_members",
    "stacked_ensemble",
    "table_targets",
    "train_stacked",
    *(cls.__name__ for cls in MEMBERWISE_OPTIMIZERS.values()),
]
