"""TensorRT: host side (host.py), device side (device.py), export writer (export.py)."""
