"""Benchmark code for choosing and checking kerasopt's defaults (not part of the package).

`benchmarks.tables` loads the 30 public tables listed in `benchmarks/tables.csv`;
`scripts/benchmark_tables.py` cross-validates kerasopt's defaults beside other tools on them.
"""
