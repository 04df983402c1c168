#!/bin/sh
# Runs one charon in the current (network) namespace; run.sh starts two. Writes under /tmp/kc-cap.
# usage: charon.sh <name> <local> <remote> <initiate:0|1>
# runs inside: ip netns exec kc-<name> unshare -m
set -e
N=$1; L=$2; R=$3; INIT=$4
D=/tmp/kc-cap/$N
mkdir -p $D
mount -t tmpfs tmpfs /run
cat > $D/strongswan.conf <<EOC
charon {
  filelog { stderr { default = 1 ike = 2 } }
  port = 500
  send_vendor_id = yes
  port_nat_t = 4500
  install_routes = no
  install_virtual_ip = no
  plugins { vici { socket = unix:///run/kc-$N.vici } }
  load = random nonce aes sha1 sha2 hmac kdf gcm curve25519 openssl pem x509 pubkey pkcs1 pkcs8 kernel-libipsec kernel-netlink socket-default vici
}
EOC
cat > $D/swanctl.conf <<EOC
connections {
  kc {
    local_addrs = $L
    remote_addrs = $R
    version = 2
    proposals = aes256gcm16-prfsha256-x25519
    local { auth = psk
            id = $L }
    remote { auth = psk
            id = $R }
    children { net { esp_proposals = aes256gcm16
                     local_ts = $L/32
                     remote_ts = $R/32 } }
  }
}
secrets { ike-1 { secret = kc-capture-secret } }
EOC
export STRONGSWAN_CONF=$D/strongswan.conf
/usr/lib/ipsec/charon > $D/charon.log 2>&1 &
CP=$!
for i in $(seq 1 50); do [ -S /run/kc-$N.vici ] && break; sleep 0.1; done
swanctl --load-all --uri unix:///run/kc-$N.vici --file $D/swanctl.conf > $D/swanctl.log 2>&1 || true
if [ "$INIT" = 1 ]; then
  sleep 1
  swanctl --initiate --uri unix:///run/kc-$N.vici --child net --timeout 4 >> $D/swanctl.log 2>&1 || true
else
  sleep 7
fi
kill $CP; wait $CP || true
