"""OpenVINO: host side (host.py: ONNX -> IR with openvino.convert_model), device side (device.py: the
runtime with the LATENCY hint and explicit streams / threads), export writer openvino (export.py)."""
