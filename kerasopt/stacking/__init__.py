"""Stacked training: K independent Dense networks trained as one Keras model.

Small Dense networks on small tables spend a training step on dispatch
overhead, not arithmetic, so K networks cost little more than one when they
run as one model. The modules:

- `layers`: the stacked layers and penalties (`StackedDropout`,
  `StackedBatchNormalization`, `StackedEmbedding`, `MemberwiseL1L2`,
  `MemberwiseRegularizer`);
- `optimizers`: the elementwise optimizers stacking accepts, and their
  `Memberwise` classes with one learning rate per member;
- `builder`: `build_stacked_model` (K copies of a `kerasopt.build_model`
  network, also a population of members with their own learning rate,
  penalties and dropout) and its XLA policy `jit_for`;
- `training`: `train_stacked`, each member on its own rows with its own
  early stopping (`MemberEarlyStopping`), fed by `plan_batches`;
- `ensemble`: `predict_members` and `stacked_ensemble`, one model averaging
  the members, which saves to `.keras` and loads back after `import
  kerasopt`;
- `tables`: table networks over one shared encoding of the columns
  (`encode_table`, `build_stacked_table_model`, `table_targets`) and their
  averaging `kerasopt.tabular.TabularModel` (`table_ensemble`).

Every name below is importable from `kerasopt.stacking`.
"""

from __future__ import annotations

from kerasopt.stacking.builder import POPULATION_KEYS, build_stacked_model, jit_for
from kerasopt.stacking.ensemble import predict_members, stacked_ensemble
from kerasopt.stacking.layers import (MemberwiseL1L2, MemberwiseRegularizer, StackedBatchNormalization,
                                      StackedDropout, StackedEmbedding)
from kerasopt.stacking.optimizers import MEMBERWISE_OPTIMIZERS
from kerasopt.stacking.tables import build_stacked_table_model, encode_table, table_ensemble, table_targets
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
    "StackedEmbedding",
    "StackedTrainResult",
    "build_stacked_model",
    "build_stacked_table_model",
    "encode_table",
    "jit_for",
    "plan_batches",
    "predict_members",
    "stacked_ensemble",
    "table_ensemble",
    "table_targets",
    "train_stacked",
    *(cls.__name__ for cls in MEMBERWISE_OPTIMIZERS.values()),
]
