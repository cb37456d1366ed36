#!/usr/bin/env bash
# Issue 17's acceptance for the national directory: a real "lienthong serve"
# joined to a separate nats-server hub whose LT_DIRECTORY holds ~111,000
# signed entries; time to ready, idle CPU, RSS, /metrics, stop — first start
# (the directory read from the bus) and restart (kept in the store), each
# RUNS times, as docs/design/measure-serve.sh measures.
#
#   docs/design/measure-directory.sh                  # everything from scratch (import: ~2 min)
#   SKIP_SETUP=1 docs/design/measure-directory.sh     # the measurements only, on the hub made before
#   CERTS=1 docs/design/measure-directory.sh          # every entry with a certificate, as agencies have
#
# Everything lives under $W (default /tmp/lienthong-dir111k); the source is
# only read (go build). Loopback only.
#
# At af57170 on the 2-core development machine, CERTS=1, two runs:
#   first start 6.9-7.6 s to ready (11.3-11.5 s of CPU: every record's
#   signature), restart 4.1-4.4 s (5.8-6.1 s of CPU), idle CPU 2.1-3.8 %
#   (verifyKept at a fortieth of a core, about four minutes), RSS after a
#   restart 398-408 MB (peak 412-414 MB), /metrics 10-12 ms, stop 0.06 s.
# At ae8fdf3 (the directory keeps fingerprints), CERTS=1 RUNS=2 and again:
#   restart 5.30-5.43 s (7.2-7.4 s of CPU, 4.6 s of it loading the kept
#   records), RSS after a restart 201-209 MB (peak 403 MiB), idle 2.4-4.7 %,
#   /metrics 10-15 ms, stop 0.05-0.08 s; 5c92290's binary on the same data
#   the same hour: restart 5.69 s (8.1 s of CPU), RSS 410 MB.
# At 40d474b (a restart reads the records' briefs, migration 0011; 1 KiB of
#   memory limit per entry), CERTS=1 RUNS=2: restart 2.27-2.71 s (2.0-2.1 s
#   of CPU, 1.5-1.6 s of it loading 111,001 briefs), RSS after a restart
#   207-230 MiB (peak 302-309 MiB), idle 2.5-3.4 %, /metrics 10-28 ms, stop
#   0.05 s; first start 9.6-14.1 s (peak 506-582 MiB while the bus's
#   records are verified and kept). The build before, on the same data the
#   same hour: restart 5.0-5.6 s.
set -euo pipefail
W=${W:-/tmp/lienthong-dir111k}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
mkdir -p "$W"
N=${N:-111000}          # directory entries
RUNS=${RUNS:-2}
HUBPORT=34222 HUBMON=38222 OPS=127.0.0.1:29464
L=$W/lienthong
HUB="-url nats://127.0.0.1:$HUBPORT -nkey $W/admin.nk"
ADMIN="-admin-key $W/admin.key -admin-cert $W/admin.crt"
cd $W

stop_hub() { [ -f $W/hub.pid ] && kill "$(cat $W/hub.pid)" 2>/dev/null && sleep 1; rm -f $W/hub.pid; }
start_hub() {
  $W/nats-server -c $W/hub/hub.conf >$W/hub/hub.log 2>&1 &
  echo $! >$W/hub.pid
  until curl -fsS -o /dev/null http://127.0.0.1:$HUBMON/healthz 2>/dev/null; do sleep 0.2; done
}

if [ -z "${SKIP_SETUP:-}" ]; then
  stop_hub
  rm -rf $W/hub $W/gw $W/directory-ca $W/admin.* $W/nghean.nk $W/entries.csv $W/h41.yaml
  # 1. binaries (go.mod untouched: nats-server is a dependency already)
  (cd "$SRC" && go build -o $W/lienthong ./cmd/lienthong && go build -o $W/nats-server github.com/nats-io/nats-server/v2)

  # 2. the directory administrator (deploy/README.md, "The administrator's key")
  $L pki init -name "Quản trị trục liên thông" directory-ca >/dev/null
  $L pki issue -ca directory-ca -agency 000.00.00.G22 -name "Quản trị trục liên thông" -directory-scope '*' -out admin >/dev/null

  # 3. the gateway: a province's (nghean hosting 000.00.00.H41) on the hub
  $L init -gateway nghean -listen 127.0.0.1:28080 -ops-listen $OPS gw >/dev/null

  # 4. the hub: one nats-server node, JetStream domain hub, plaintext on loopback,
  #    account LIENTHONG with the administrator's and the gateway's NKeys
  mkdir -p hub
  $L nats user -gateway admin -agency 000.00.00.G22 -seed admin.nk | grep -m1 'nkey:' >hub/admin.user
  $L nats user -gateway nghean -gateway-consumers -seed nghean.nk >hub/nghean.user
  { echo "users: ["; echo "{ $(cat hub/admin.user) }"; cat hub/nghean.user; echo "]"; } >hub/users.conf
  cat >hub/hub.conf <<EOF
server_name: "hub-1"
listen: "127.0.0.1:$HUBPORT"
http: "127.0.0.1:$HUBMON"
jetstream {
  store_dir: "$W/hub/js"
  domain: "hub"
  max_memory_store: 1GB
  max_file_store: 20GB
  limits { default_max_consumers: 10000, max_ack_pending: 10000 }
}
accounts {
  LIENTHONG: { jetstream: enabled, include "users.conf" }
}
EOF
  $W/nats-server -c hub/hub.conf -t
  start_hub

  # 5. streams, buckets, the gateway's consumers (nats.consumers: gateway)
  $L nats setup $HUB -replicas 1 -gateway nghean -agency 000.00.00.H41

  # 6. the directory: N agencies as simCodes (cmd/lienthong/sim.go) makes
  #    them — 30 ministries, 34 provinces, then communes of the provinces in
  #    turn — in the CSV form of "directory import -f", hosted by "axis";
  #    then the gateway's own agency with its certificate.
  awk -v n=$N 'BEGIN{
    print "code,name,parent,kind,gateway,oldCodes"; k=0
    for(i=1;i<=30&&k<n;i++){printf "000.00.00.G%02d,Bộ số %d,,ministry,,\n",i,i;k++}
    for(p=1;p<=34&&k<n;p++){printf "000.00.00.H%02d,UBND tỉnh số %d,,province,,\n",p,p;k++}
    for(c=1;k<n;c++) for(p=1;p<=34&&k<n;p++){
      printf "%03d.%02d.%02d.H%02d,UBND xã số %d tỉnh %d,000.00.00.H%02d,commune,,\n",int(c/10000),int(c/100)%100,c%100,p,c,p,p;k++}
  }' >entries.csv
  echo "entries.csv: $(($(wc -l <entries.csv)-1)) agencies"
  s=$(date +%s)
  if [ -n "${CERTS:-}" ]; then
    # worst case: every entry carries a certificate (one PEM shared, ~1.2 KB)
    awk -F, 'NR>1{printf "  - {code: \"%s\", name: \"%s\", parent: \"%s\", kind: %s, gateway: axis, certificates: [gw/keys/000_00_00_H41.crt]}\n",$1,$2,$3,$4}
             BEGIN{print "agencies:"}' entries.csv >entries.yaml
    $L directory import -f entries.yaml $ADMIN $HUB >import.log 2>&1 || { tail import.log; exit 1; }
  else
    $L directory import -f entries.csv -gateway axis $ADMIN $HUB >import.log 2>&1 || { tail import.log; exit 1; }
  fi
  echo "directory import: $(( $(date +%s) - s )) s"
  cat >h41.yaml <<EOF
agencies:
  - code: 000.00.00.H41
    name: UBND tỉnh Nghệ An
    kind: province
    gateway: nghean
    certificates: [gw/keys/000_00_00_H41.crt]
EOF
  $L directory import -f h41.yaml $ADMIN $HUB >>import.log 2>&1
  curl -s "http://127.0.0.1:$HUBMON/jsz?streams=true&accounts=true" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print("hub stream",s["name"],s["state"]["messages"],"msgs",s["state"]["bytes"],"bytes") for a in d.get("account_details",[]) for s in a.get("stream_detail",[]) if s["name"]=="KV_LT_DIRECTORY"]' 

  # 7. the gateway on the hub
  cat >>gw/lienthong.yaml <<EOF
nats:
  url: nats://127.0.0.1:$HUBPORT
  nkeyFile: $W/nghean.nk
  replicas: 1
  bind: true
  consumers: gateway
EOF
  sed -i "s|^trust:|trust:\n  directory: [$W/directory-ca/ca.crt]|" gw/lienthong.yaml
  $L serve -config gw/lienthong.yaml -config-dump >/dev/null
else
  [ -f $W/hub.pid ] && kill -0 "$(cat $W/hub.pid)" 2>/dev/null || start_hub
fi

# 8. the measurements (docs/design/measure-serve.sh, with the serve log kept)
measure() {  # $1: label
  local log=$W/serve-$1.log
  echo "--- $1"
  GODEBUG=${GODEBUG_SERVE:-} $L serve -config $W/gw/lienthong.yaml >"$log" 2>&1 &
  local pid=$! start; start=$(date +%s.%N)
  until curl -fsS -o /dev/null "http://$OPS/readyz" 2>/dev/null; do
    sleep 0.1; kill -0 $pid 2>/dev/null || { echo "serve exited:"; tail -5 "$log"; return 1; }
  done
  echo "ready after: $(echo "$(date +%s.%N) - $start" | bc) s (its CPU to ready: $(awk -v t=$(getconf CLK_TCK) '{printf "%.1f", ($14+$15)/t}' /proc/$pid/stat) s; load average $(cut -d' ' -f1 /proc/loadavg))"
  sleep 5
  local t1 t2; t1=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; t2=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "idle CPU (5-15 s after ready): $(echo "($t2 - $t1) * 10 / $(getconf CLK_TCK)" | bc -l | cut -c1-5) %"
  sleep ${LATE:-15}; t1=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; t2=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "idle CPU ($((15+${LATE:-15}))-$((25+${LATE:-15})) s after ready): $(echo "($t2 - $t1) * 10 / $(getconf CLK_TCK)" | bc -l | cut -c1-5) %"
  grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' \t' ' '
  curl -fsS "http://$OPS/metrics" | grep -E '^lienthong_directory_(age|rejected)' | grep -v ' 0$'  || true
  for _ in 1 2 3; do
    local s; s=$(date +%s.%N); curl -fsS -o /dev/null "http://$OPS/metrics"; echo "/metrics: $(echo "$(date +%s.%N) - $s" | bc) s"
  done
  grep -ho '"msg":"\(memory limit\|directory read\|directory loaded from the store\)"[^}]*' "$log" || true
  s=$(date +%s.%N); kill -TERM $pid; wait $pid || true
  echo "stop: $(echo "$(date +%s.%N) - $s" | bc) s"
}
for r in $(seq 1 "$RUNS"); do
  rm -rf $W/gw/data; mkdir -p $W/gw/data   # an empty store: the directory comes from the bus
  measure "first-start-$r"
  measure "restart-$r"
done
