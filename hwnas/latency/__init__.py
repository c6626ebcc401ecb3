"""Latency: devices' runtimes (backends/), remote runners (remote/), per-device block tables,
prediction (sources.py), profiling (profile.py) and validation against end-to-end timings."""
