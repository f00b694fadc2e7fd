#!/usr/bin/env bash
# Rollouts side by side: the PyTorch yardstick (torch_bench.py --quick: Newton with an autograd Jacobian, 1 and 2
# threads, and scipy fsolve as DGNet does) and RolloutBench on the very models and initial conditions the yardstick
# saved, run one after the other on the same machine; prints steps/s and the ratios (bench/README.md, ## Rollouts).
# Usage (repository root): bench/rollout-side-by-side.sh SHARED_BENCH_DIR [WORK_DIR]   e.g. ../shared/bench /tmp/tb
# Needs python3-torch and python3-scipy, and bench/target/benchmarks.jar (./mvnw -B -q -pl bench -am package -DskipTests).
set -euo pipefail
SHARED=$(cd "$1" && pwd)
WORK=${2:-/tmp/dtlm-side-by-side}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
mkdir -p "$WORK"
(cd "$WORK" && /usr/bin/python3 "$SHARED/torch_bench.py" --quick > torch.jsonl)
"$JAVA" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Djmh.ignoreLock=true \
  -jar "$ROOT/bench/target/benchmarks.jar" 'rollout.RolloutBench' -f 1 -wi 3 -i 5 -w 1 -r 1 \
  -jvmArgsAppend "-Ddtlm.bench.inputs=$WORK/torch_bench_out/bench_inputs" -rf json -rff "$WORK/jmh.json" > "$WORK/jmh.txt"
/usr/bin/python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
torch = [json.loads(l) for l in open(f"{work}/torch.jsonl") if l.startswith("{")]
jmh = json.load(open(f"{work}/jmh.json"))
ours = {(r["params"]["shape"], r["params"]["scheme"]): r["primaryMetric"] for r in jmh}
def t(bench, d, batch, threads):
    for r in torch:
        if r["bench"] == bench and r["d"] == d and r["batch"] == batch and r["threads"] == threads:
            return r["steps_per_s"]
    return float("nan")
print("| case | dtlm proposed steps/s | dtlm leapfrog steps/s | torch Newton 1 / 2 threads | scipy fsolve | "
      "proposed / best torch | proposed / fsolve |")
print("|---|---:|---:|---:|---:|---:|---:|")
for shape, d, b in (("d1b1", 1, 1), ("d4b1", 4, 1), ("d4b256", 4, 256)):
    p, l = ours[(shape, "proposed")], ours[(shape, "leapfrog")]
    t1, t2 = t("rollout_newton", d, b, 1), t("rollout_newton", d, b, 2)
    fs = t("rollout_fsolve", d, b, 1) if b == 1 else float("nan")
    best = max(t1, t2)
    unit = f" (x{b} trajectories)" if b > 1 else ""
    print(f"| d={d}, B={b}{unit} | {p['score']:.0f} ± {p['scoreError']:.0f} | {l['score']:.0f} ± {l['scoreError']:.0f} "
          f"| {t1:.1f} / {t2:.1f} | {fs:.1f} | {p['score'] / best:.0f}x | {p['score'] / fs:.0f}x |")
PY
