#!/usr/bin/env bash
# make test-kernels: the numerical tests once per OpenBLAS kernel this CPU can run, so that a
# test asserting more than float32 promises fails here, not on the next machine's CI.
# OpenBLAS picks its kernel by the CPU (AVX-512 machines get SkylakeX); OPENBLAS_CORETYPE forces
# another. A kernel whose instructions the CPU lacks would crash, so each is tried only where
# /proc/cpuinfo lists what it needs (Cooperlake is left out: this OpenBLAS runs SkylakeX for it,
# measured). The notebook test (marked slow) is left out. Usage: tools/test_kernels.sh PYTHON TEST...
set -uo pipefail
python=$1; shift
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
kernels=(Prescott)                       # SSE3: every x86-64 CPU
has avx && kernels+=(Sandybridge)
has avx2 && has fma && kernels+=(Haswell)
has avx512f && has avx512bw && has avx512vl && kernels+=(SkylakeX)
if [ -z "$flags" ] || ! { has pni || has sse3; }; then  # SSE3 is "pni" there
  echo "test-kernels: no x86-64 CPU flags in /proc/cpuinfo; OPENBLAS_CORETYPE only applies to x86-64" >&2
  exit 2
fi
failed=0
rows=()
for kernel in "${kernels[@]}"; do
  used=$(OPENBLAS_CORETYPE=$kernel "$python" -c 'import numpy, threadpoolctl
print(",".join(sorted({i.get("architecture") or "?" for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"})))')
  echo "== OPENBLAS_CORETYPE=$kernel (OpenBLAS runs: $used)"
  start=$(date +%s%N)
  OPENBLAS_CORETYPE=$kernel "$python" -m pytest -q -n auto -p no:cacheprovider -m "not slow" "$@" | tail -n 3
  status=${PIPESTATUS[0]}
  tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  seconds="$((tenths / 10)).$((tenths % 10))"
  [ "$status" = 0 ] && result=passed || { result="FAILED ($status)"; failed=1; }
  rows+=("$(printf '%-12s %-12s %8s s  %s' "$kernel" "$used" "$seconds" "$result")")
done
echo
printf '%-12s %-12s %10s  %s\n' "asked for" "ran" "time" "result"
printf '%s\n' "${rows[@]}"
exit $failed
