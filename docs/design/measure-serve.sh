#!/usr/bin/env bash
# Measures one real "lienthong serve" as issue 17's acceptance asks: time to
# ready, idle CPU over 10 s, resident memory, /metrics, time to stop after
# SIGTERM. For a province's gateway at size:
#
#   go build -o lienthong ./cmd/lienthong
#   ./lienthong init -communes 4999 -listen 127.0.0.1:28080 -ops-listen 127.0.0.1:29464 gw
#   docs/design/measure-serve.sh ./lienthong gw/lienthong.yaml 127.0.0.1:29464
#
# Measured at 4167644 on the 2-core development machine, 5,000 agencies on
# the embedded server with per-agency consumers (10,000): ready 5.1 s, idle
# CPU 114 %, RSS 756 MB, /metrics 1.6 s, stop 189 s (nats-server's
# JetStream shutdown of the 10,000 consumers) — what docs/design/consumers.md
# is to cure.
#
# The same gateway with "nats: {consumers: gateway}" appended to its
# configuration (one consumer per stream, 5,000 filter subjects each), at
# 2012db8: first start 4.0 s, restart 3.1 s (1.9 s of it nats-server
# recovering the two consumers' filters), idle CPU 0.3 %, RSS 153–170 MB,
# /metrics 18–26 ms, stop 0.11 s. At 60beff5, where that is the default:
# first start 3.6 s, restart 3.3 s, idle 0.3 %, RSS 165–189 MB, /metrics
# 19–27 ms, stop 0.11 s.
set -euo pipefail
bin=$1 config=$2 ops=$3
log=$(mktemp)
"$bin" serve -config "$config" >"$log" 2>&1 &
pid=$!
start=$(date +%s.%N)
until curl -fsS -o /dev/null "http://$ops/readyz" 2>/dev/null; do
  sleep 0.1
  kill -0 $pid 2>/dev/null || { echo "serve exited:"; tail -5 "$log"; exit 1; }
done
echo "ready after: $(echo "$(date +%s.%N) - $start" | bc) s"
sleep 5
t1=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; t2=$(awk '{print $14+$15}' /proc/$pid/stat)
echo "idle CPU: $(echo "($t2 - $t1) * 10 / $(getconf CLK_TCK)" | bc -l | cut -c1-5) %"
grep VmRSS /proc/$pid/status
for _ in 1 2 3; do
  s=$(date +%s.%N); curl -fsS -o /dev/null "http://$ops/metrics"; echo "/metrics: $(echo "$(date +%s.%N) - $s" | bc) s"
done
s=$(date +%s.%N); kill -TERM $pid; wait $pid || true
echo "stop: $(echo "$(date +%s.%N) - $s" | bc) s"
rm -f "$log"
