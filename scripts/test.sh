#!/usr/bin/env bash
# Set up .venv with the dev extras and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The SSH profiling tests start a real sshd on 127.0.0.1 (Debian's openssh-server); install it on a
# fresh machine when we may (root with apt-get). Without it those tests skip with a reason.
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing openssh-server for the SSH profiling tests" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null; } \
    || echo "could not install openssh-server: the SSH tests will skip" >&2
fi
# ray: the executor tests start a real two-node Ray cluster on 127.0.0.1. litert and openvino:
# ~1.2 GB, ~2 min to install here; their tests (conversion, timing, export parity) add about a
# minute. HWNAS_TEST_EXTRAS=dev skips them all (they then skip with the install hint).
source scripts/_venv.sh "${HWNAS_TEST_EXTRAS:-dev,ray,litert,openvino}"
# Lint, format and types first (configured in pyproject.toml): a new finding fails the run.
"$PY" -m ruff check hwnas tests scripts
"$PY" -m ruff format --check hwnas tests scripts
"$PY" -m mypy
exec "$PY" -m pytest "$@"
