#!/usr/bin/env bash
# The CUDA checks, in one go, for a machine with an NVIDIA GPU (under 8 minutes):
# the CUDA tests, the course's tasks validated on cuda, and the CUDA benchmark.
#
# On a machine that has torch with CUDA but lacks some of our dependencies and
# has no network (the lent GPU machine), carry wheels in .whl/ (see README,
# "GPU checks"); they are installed first, without touching torch.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 TUTOR_LANG=en
PY=${PYTHON:-python3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/tutor-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/tutor-site${PYTHONPATH:+:$PYTHONPATH}
fi
# Our package, without letting pip touch the machine's torch.
$PY -m pip install -q --no-deps --no-build-isolation -e . || exit 1
$PY - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0))
PY
status=0
timeout 240 $PY -m pytest -q -m cuda tests/test_cuda.py 2>&1 | tee "$OUT/gpu_tests.log" || status=1
timeout 150 $PY -m tutor lesson validate lessons tests/packs/devices --device cuda 2>&1 | tee "$OUT/gpu_validate.log" || status=1
timeout 90 $PY bench/cuda_bench.py 20 2>&1 | tee "$OUT/gpu_bench.json" || status=1
exit $status
