"""Latency: per-device block tables, prediction (sources.py), profiling (profile.py), validation against
end-to-end timings; devices are reached through targets.py (a runtime from ``hwnas.runtimes`` plus a
transport from ``hwnas.transport``)."""
