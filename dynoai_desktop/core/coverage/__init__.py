"""Coverage of the VE tables across a vehicle's runs, its regions and gaps, and the next-test
planner (docs/coverage.md).

``grid``: good-sample weight and raw hits per cell, per run and summed per vehicle;
``regions``: named high-impact regions, gaps and a summary; ``behaviour``: how the bike moves
on the dyno, learned from its runs; ``candidates``: each candidate test laid out as its path and
expected weight; ``blocks``: sweeps chained up and down in one test, found by a look-ahead
over sequences of them; ``planner``: their gain per minute, the constraints, the order, and the
test plan a suggestion becomes.
"""
