"""The course's worked cases as functions that return their numbers.

Each module is one experiment; import it directly, e.g.
`from kerasopt.experiments import backprop`. The scripts in `scripts/` and the
notebooks in `notebooks/` only call these functions.
"""
