"""ONNX Runtime: host side (host.py), device side (device.py), export writers onnx/ort/int8 (export.py)."""
