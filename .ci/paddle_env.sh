#!/usr/bin/env bash
# Create (once) or reuse a side virtual environment with real PaddlePaddle 2.6.2 for the cross-checks
# (tests/crosscheck/), and print its python's path on stdout -- nothing else goes to stdout.
#
#   PY=$(.ci/paddle_env.sh) && export SAMPAN_PADDLE_PYTHON="$PY"
#
# Cache: ${SAMPAN_PADDLE_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sampan/paddle-2.6.2}. A venv is reused only
# when its ready-marker is there and its python imports paddle 2.6.2; otherwise it is rebuilt from
# scratch (a half-built venv from an interrupted run is never reused). Concurrent callers serialise on
# a lock file. Base interpreter: $PYTHON, else python3 (paddlepaddle 2.6.2 has wheels for CPython
# 3.8-3.12 on x86-64 Linux). Exit status non-zero, with the reason on stderr, when it cannot be set up.
#
# Measured on the project's 2-core machine (PyPI reachable, no pip cache): a fresh build took 21 s on an
# idle machine and 38 s while other jobs ran (venv + download + install of paddlepaddle 2.6.2, numpy
# 1.26.4 and their deps, ~590 MB on disk, plus the import check); a reuse takes about 1.5 s (the check).
set -euo pipefail

PADDLE_VERSION=2.6.2
ENV_DIR=${SAMPAN_PADDLE_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sampan/paddle-$PADDLE_VERSION}
BASE_PY=${PYTHON:-python3}
MARKER="$ENV_DIR/.sampan-paddle-ready"
PY="$ENV_DIR/bin/python"

log() { echo "paddle_env: $*" >&2; }

check() {   # the venv's python imports paddle at the expected version (and numpy 1.x, which 2.6.2 needs)
  [ -f "$MARKER" ] && [ -x "$PY" ] || return 1
  "$PY" - "$PADDLE_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
import numpy, paddle
assert paddle.__version__ == sys.argv[1], paddle.__version__
assert numpy.__version__.startswith("1."), numpy.__version__
EOF
}

build() {
  local t0=$SECONDS
  command -v "$BASE_PY" >/dev/null 2>&1 || { log "base interpreter '$BASE_PY' not found (set PYTHON=...)"; return 1; }
  log "building $ENV_DIR with $("$BASE_PY" --version 2>&1) (paddlepaddle==$PADDLE_VERSION, numpy<2)"
  rm -rf "$ENV_DIR"
  mkdir -p "$(dirname "$ENV_DIR")"
  "$BASE_PY" -m venv "$ENV_DIR" >&2
  # stdout of pip goes to stderr: stdout carries only the interpreter path
  "$PY" -m pip install --quiet --disable-pip-version-check --no-input \
      "paddlepaddle==$PADDLE_VERSION" "numpy<2" >&2
  touch "$MARKER"
  if ! check; then
    rm -f "$MARKER"
    log "the new environment does not import paddle $PADDLE_VERSION:"
    "$PY" -c "import paddle; print(paddle.__version__)" >&2 || true
    return 1
  fi
  log "built in $((SECONDS - t0)) s"
}

mkdir -p "$(dirname "$ENV_DIR")"
exec 9>"$ENV_DIR.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if check; then
  log "reusing $ENV_DIR"
else
  build
fi
echo "$PY"
