"""LiteRT (.tflite): host side (host.py: litert-torch conversion), device side (device.py: the LiteRT
interpreter; adb phones are timed by hwnas.transport.adb with LiteRT's benchmark_model), export writer
tflite (export.py)."""
