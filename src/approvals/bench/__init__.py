"""`approvals bench`: our engine against its peers and the limits (issue 5).

The package imports nothing itself: the HTTP section's load generator
(`python -m approvals.bench.loadgen`) runs as a process of its own once per rate, and
must not pay for importing the peers, the charts and the service each time. The
report's parts are in `bench.report`, the runner in `bench.runner`.
"""
