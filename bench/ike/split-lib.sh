# Keel's services apart for the bench scripts (docs/gateway.md, "Running the split"): two
# sad-service members, policy-service, esp-workers fed by the SAD that own UDP 500 and 4500 on the
# outer address and relay IKE to ike-service, each its own JVM in one network namespace, talking
# plaintext gRPC on its loopback. Source it after bench/ike/lib.sh and .mvn/jdk25.sh; it defines
# functions only. Needs root (namespaces, TUN) and the gateway module's shaded jar (KS_GW_JAR).

KS_GW_JAR=${KS_GW_JAR:-$PWD/gateway/target/keel-gateway.jar}
KS_JVM_HEAP=${KS_JVM_HEAP:-"-Xms256m -Xmx512m"}
KS_PIDS=()   # every JVM started, in order

# ks_jvm NS LOG READY MAIN ARGS...: a Keel JVM in NS, its output to LOG; waits (120 s: several JVMs
# starting on a busy machine) until LOG shows READY; sets KS_PID. Fails with the log's tail.
ks_jvm() {
  local ns=$1 log=$2 ready=$3 p; shift 3
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$JAVA_HOME/bin/java" $KEEL_JVM_FLAGS ${KEEL_SPLIT_JVM_FLAGS:-} $KS_JVM_HEAP -Dhazelcast.phone.home.enabled=false \
    -cp "$KS_GW_JAR" "$@" > "$log" 2>&1 &
  p=$!; KS_PIDS+=("$p")  # ip netns exec execs java: this is the JVM
  for _ in $(seq 1 1200); do
    grep -qs "$ready" "$log" && { KS_PID=$p; return 0; }
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  echo "$(basename "$log"): no '$ready' (see $log)" >&2
  tail -20 "$log" >&2
  return 1
}

# ks_jvms_stop: SIGTERM to every JVM started, the last first (each prints its counters), SIGKILL after 10 s.
ks_jvms_stop() {
  local i p
  for (( i=${#KS_PIDS[@]}-1; i>=0; i-- )); do
    p=${KS_PIDS[$i]}
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  KS_PIDS=()
}

# ks_split_start NS DIR ADDRESS WORKERS: the split in NS on outer ADDRESS with WORKERS esp-workers
# (1: sad-a's; 2: sad-a's and sad-b's, one SO_REUSEPORT group, TUN keel0 / keel1, routes
# owner_preferred). DIR holds policy.yaml (and the files it names); logs and the other
# configuration go there too. ike-service reads the PSK named "local" from $KEEL_SPLIT_PSK and
# installs each CHILD SA for the node of the worker its peer's IKE came through. Sets KS_SPLIT_PIDS
# (all, comma-separated), KS_SPLIT_NAMES (their names, in the same order) and KS_WORKER_PIDS
# (node id => pid).
declare -A KS_WORKER_PIDS
ks_split_start() {
  local ns=$1 dir=$2 address=$3 workers=$4 i node
  local sad="127.0.0.1:7444,127.0.0.1:7443" members="127.0.0.1:5701,127.0.0.1:5702"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/kek.hex"; chmod 600 "$dir/kek.hex"
  KS_SPLIT_PIDS=""; KS_SPLIT_NAMES=""; KS_WORKER_PIDS=()
  for i in 0 1; do
    node=sad-$([ $i = 0 ] && echo a || echo b)
    ks_jvm "$ns" "$dir/$node.log" 'keel-sad ready' dev.keel.sad.SadMain --node-id "$node" --kek-file "$dir/kek.hex" \
      --cluster-name split --bind-host 127.0.0.1 --hazelcast-port $((5701 + i)) --members "$members" \
      --grpc-port $((7443 + i)) --maintenance-interval-millis 1000 || return 1
    KS_SPLIT_PIDS+=${KS_SPLIT_PIDS:+,}$KS_PID; KS_SPLIT_NAMES+=${KS_SPLIT_NAMES:+,}$node
  done
  ks_jvm "$ns" "$dir/policy-service.log" 'policy-service serving' dev.keel.policy.PolicyServiceMain \
    --config "$dir/policy.yaml" --listen 127.0.0.1:7420 --plaintext || return 1
  KS_SPLIT_PIDS+=,$KS_PID; KS_SPLIT_NAMES+=,policy-service
  for i in $(seq 0 $((workers - 1))); do
    node=sad-$([ $i = 0 ] && echo a || echo b)
    cat > "$dir/worker-$node.yaml" <<YAML
node_id: $node
listen: $address:4500
loops: 2
plaintext:
  tun: {name: keel$i, mtu: 1400, offload: true, routes: owner_preferred}
sad: {endpoints: "$sad"}
policy: {endpoint: "127.0.0.1:7420"}
kek_file: $dir/kek.hex
ike: {relay: "127.0.0.1:7450", port: 500}
YAML
    ks_jvm "$ns" "$dir/esp-worker-$node.log" 'keel-esp-worker: started' dev.keel.esp.fed.FedWorkerMain \
      --config "$dir/worker-$node.yaml" || return 1
    KS_SPLIT_PIDS+=,$KS_PID; KS_SPLIT_NAMES+=,esp-worker-$node; KS_WORKER_PIDS[$node]=$KS_PID
  done
  ks_jvm "$ns" "$dir/ike-service.log" 'worker sad-a attached' dev.keel.ike.service.IkeServiceMain \
    --address "$address" --node-id ike1 --policy 127.0.0.1:7420 --sad "$sad" --kek-file "$dir/kek.hex" \
    --relay-listen 127.0.0.1:7450 --loops 2 --psk local=KEEL_SPLIT_PSK || return 1
  KS_SPLIT_PIDS+=,$KS_PID; KS_SPLIT_NAMES+=,ike-service
  if [ "$workers" -gt 1 ]; then
    for _ in $(seq 1 300); do grep -q 'worker sad-b attached' "$dir/ike-service.log" && break; sleep 0.1; done
  fi
}
