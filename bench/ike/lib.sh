# Shared shell helpers for the strongSwan (charon) baselines and fixture capture in bench/ike/.
# Source it; it defines functions only. Needs root, iproute2, charon 5.9 and swanctl.
#
# Topology (names are "$KS_PREFIX-<role>", KS_PREFIX = ks-<random>):
#   host-a 10.1.0.2 -- 10.1.0.1 gw-a 192.0.2.1 ==veth== 192.0.2.2 gw-b 10.2.0.1 -- 10.2.0.2 host-b
# The kernel has no XFRM ESP: charon uses kernel-libipsec (user-space ESP on TUN "ipsec0"), with
# ESP in UDP 4500 (encap = yes). Each charon runs in a private mount namespace with its own /run.

CHARON_BIN=${CHARON_BIN:-$(for c in /usr/lib/ipsec/charon /usr/libexec/ipsec/charon /usr/lib/strongswan/charon; do [ -x "$c" ] && { echo "$c"; break; }; done)}
KS_PREFIX=${KS_PREFIX:-ks-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')}

ks_ns() { echo "$KS_PREFIX-$1"; }

# Removes ks-* namespaces older than 10 minutes (left over from killed runs).
ks_sweep() {
  local f
  for f in /run/netns/ks-*; do
    [ -e "$f" ] || continue
    if [ -n "$(find "$f" -maxdepth 0 -mmin +10 2>/dev/null)" ]; then
      ip netns pids "$(basename "$f")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns del "$(basename "$f")" 2>/dev/null || true
    fi
  done
}

ks_topology_up() {
  local a b ha hb
  a=$(ks_ns gwa); b=$(ks_ns gwb); ha=$(ks_ns hosta); hb=$(ks_ns hostb)
  for n in "$a" "$b" "$ha" "$hb"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  ip -n "$a" link add outer type veth peer name outer netns "$b"
  ip -n "$a" link add inner type veth peer name inner netns "$ha"
  ip -n "$b" link add inner type veth peer name inner netns "$hb"
  ip -n "$a" addr add 192.0.2.1/24 dev outer; ip -n "$b" addr add 192.0.2.2/24 dev outer
  ip -n "$a" addr add 10.1.0.1/24 dev inner; ip -n "$ha" addr add 10.1.0.2/24 dev inner
  ip -n "$b" addr add 10.2.0.1/24 dev inner; ip -n "$hb" addr add 10.2.0.2/24 dev inner
  for n in "$a" "$b" "$ha" "$hb"; do
    for l in outer inner; do ip -n "$n" link set "$l" up 2>/dev/null || true; done
  done
  ip -n "$ha" route add default via 10.1.0.1
  ip -n "$hb" route add default via 10.2.0.1
  for n in "$a" "$b"; do
    ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
}

# A second peer site for gw-a (after ks_topology_up), on a link of its own:
#   host-c 10.3.0.2 -- 10.3.0.1 gw-c 198.51.100.2 ==veth== 198.51.100.1 gw-a (its outer2)
# gw-c reaches gw-a's 192.0.2.1 through that link, so two peers reach one gw-a address from two
# addresses (two UDP 5-tuples, as behind the Internet).
ks_site_c_up() {
  local a c hc
  a=$(ks_ns gwa); c=$(ks_ns gwc); hc=$(ks_ns hostc)
  for n in "$c" "$hc"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  ip -n "$a" link add outer2 type veth peer name outer netns "$c"
  ip -n "$c" link add inner type veth peer name inner netns "$hc"
  ip -n "$a" addr add 198.51.100.1/24 dev outer2; ip -n "$c" addr add 198.51.100.2/24 dev outer
  ip -n "$c" addr add 10.3.0.1/24 dev inner; ip -n "$hc" addr add 10.3.0.2/24 dev inner
  ip -n "$a" link set outer2 up
  for l in outer inner; do ip -n "$c" link set "$l" up; done
  ip -n "$hc" link set inner up
  ip -n "$c" route add 192.0.2.0/24 via 198.51.100.1
  ip -n "$hc" route add default via 10.3.0.1
  ip netns exec "$c" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

ks_topology_down() {
  local r n
  for r in gwa gwb gwc hosta hostb hostc; do
    n=$(ks_ns $r)
    [ -e "/run/netns/$n" ] || continue
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
}

# ks_charon_conf DIR LOGLEVEL_IKE_CHD [extra strongswan.conf charon-section lines...]
ks_charon_conf() {
  local dir=$1 lvl=$2; shift 2
  local d; for d in x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12; do mkdir -p "$dir/swanctl/$d"; done
  cat > "$dir/strongswan.conf" <<CONF
charon {
  # kernel-libipsec before kernel-netlink: user-space ESP, the kernel has no XFRM ESP
  load = random nonce openssl aes sha1 sha2 hmac gcm curve25519 gmp pem pkcs1 pkcs8 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  filelog {
    main {
      path = $dir/charon.log
      time_format = %T
      default = ${KS_LOG_DEFAULT:-1}
      ike = $lvl
      chd = $lvl
      flush_line = yes
      ike_name = yes
    }
  }
  syslog {
    daemon { default = -1 }
    auth { default = -1 }
  }
  plugins {
    vici { socket = unix://$dir/charon.vici }
  }
  $*
}
CONF
}

# ks_charon_start NS DIR : charon in NS, private mount namespace with a tmpfs /run.
ks_charon_start() {
  local ns=$1 dir=$2 i
  STRONGSWAN_CONF=$dir/strongswan.conf setsid ip netns exec "$ns" unshare -m sh -c \
    "mount -t tmpfs tmpfs /run && exec $CHARON_BIN" >"$dir/charon.stdout" 2>&1 &
  echo $! > "$dir/charon.pid"
  for i in $(seq 1 100); do
    swanctl --stats --uri "unix://$dir/charon.vici" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "charon in $ns did not answer on $dir/charon.vici within 10 s" >&2
  cat "$dir/charon.stdout" >&2
  return 1
}

ks_charon_stop() {
  local dir=$1 pid
  [ -f "$dir/charon.pid" ] || return 0
  pid=$(cat "$dir/charon.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$dir/charon.pid"
}

# ks_swanctl DIR --command [args...]: swanctl against the charon of DIR (--uri goes after the command).
ks_swanctl() {
  local dir=$1 cmd=$2; shift 2
  SWANCTL_DIR=$dir/swanctl swanctl "$cmd" --uri "unix://$dir/charon.vici" "$@"
}

# ks_swanctl_conf DIR LOCAL REMOTE ... ; KS_CONN_EXTRA (e.g. "unique = never") goes into the connection.
# ks_swanctl_conf DIR LOCAL REMOTE LOCAL_ID REMOTE_ID PSK IKE_PROP ESP_PROP LOCAL_TS REMOTE_TS START
ks_swanctl_conf() {
  local dir=$1 la=$2 ra=$3 lid=$4 rid=$5 psk=$6 ike=$7 esp=$8 lts=$9 rts=${10} start=${11}
  cat > "$dir/swanctl/swanctl.conf" <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $la
    remote_addrs = $ra
    proposals = $ike
    encap = yes
    mobike = no
    ${KS_CONN_EXTRA:-}
    local { auth = psk
            id = $lid }
    remote { auth = psk
             id = $rid }
    children {
      net {
        mode = tunnel
        esp_proposals = $esp
        local_ts = $lts
        remote_ts = $rts
        start_action = $start
      }
    }
  }
}
secrets {
  ike-1 {
    id-1 = $lid
    id-2 = $rid
    secret = "$psk"
  }
}
CONF
}
