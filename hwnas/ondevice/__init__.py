"""The on-device runner: times models with the device's own runtime and answers in JSON lines.

Standard library only (plus, inside each runtime's ``device.py``, that runtime), Python >= 3.8
(JetPack 5 ships 3.8): ``hwnas.transport.zipapp`` packs this package and every registered
runtime's ``hwnas/runtimes/<name>/device.py`` into one ``runner.pyz`` that ``hwnas profile``
copies to a Jetson or a Raspberry Pi. For local devices the host calls
:func:`hwnas.ondevice.protocol.handle` in-process, so a table measured locally and one
measured over SSH are timed by the same code.

- ``core.py``: the measuring practice (``timed_runs``) and what device modules share;
- ``machine.py``: the fingerprint of the machine (CPU, cores, OS, board, clocks);
- ``protocol.py``: requests and replies (``handle``, ``serve``, ``main``).
"""
