"""Coverage of the VE tables across a vehicle's runs, its regions and gaps, and the next-test
planner (docs/coverage.md).

``grid``: good-sample weight and raw hits per cell, per run and summed per vehicle;
``regions``: named high-impact regions, gaps and a summary; ``planner``: candidate tests, their
expected gain per minute, constraints, and the test plan a suggestion becomes.
"""
