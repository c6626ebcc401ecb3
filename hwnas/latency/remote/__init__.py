"""Remote devices: the self-contained on-device runner (runner.py) and the SSH transport (ssh.py)."""
