#!/usr/bin/env bash
# Compiles dgemm_bench.c against the libopenblas_nolapack.so.0 that javacpp extracted for the Java binding (the very
# file OpenBlas.libraryPath() reports) and runs it: the C baseline for DgemmBench and TinyCallBench.
#   bench/native/run.sh [THREADS [N1 N2 ...]]   defaults: 2 threads, n = 1 2 4 ... 1024
# The library is extracted on first use of the Java binding (any test or benchmark run); override with OPENBLAS_LIB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
threads="${1:-2}"
shift || true
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
  sizes=(1 2 4 8 16 32 64 128 256 512 1024)
fi

lib="${OPENBLAS_LIB:-}"
if [ -z "$lib" ]; then
  cache="${JAVACPP_CACHE:-$HOME/.javacpp/cache}"
  lib="$(find "$cache" -path '*openblas-0.3.31-1.5.13-linux-x86_64*' -name 'libopenblas_nolapack.so.0' 2>/dev/null \
    | head -n 1)"
fi
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
  echo "libopenblas_nolapack.so.0 not found under ~/.javacpp/cache; run the Java binding once first, e.g." >&2
  echo "  ./mvnw -B -q -pl native-bindings -am test" >&2
  exit 1
fi
out="${TMPDIR:-/tmp}/dgemm_bench.$$"
trap 'rm -f "$out"' EXIT
# The program dlopens the file by its absolute path (its SONAME, libopenblas.so.0, could resolve to a system copy).
gcc -O2 -std=c11 -Wall -Wextra -o "$out" "$here/dgemm_bench.c" -ldl
echo "# library: $lib"
"$out" "$lib" "$threads" "${sizes[@]}"
