"""`evaluate` metric modules, one folder each (`<name>/<name>.py`), loaded with `evaluate.load(<folder>)`.

They live here rather than on the Hub because `evaluate.load("name")` fetches canonical metrics from the Hub at run
time (evaluate 0.4.6), and this project evaluates offline. Each module is self-contained (numpy, PIL, datasets,
evaluate only) so it can also be pushed to the Hub as an evaluate Space unchanged.
"""
