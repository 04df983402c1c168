#!/bin/sh
# Captures an IKE_SA_INIT exchange between two strongSwan charons in namespaces kc-a / kc-b (root; needs tshark).
# Copy charon.sh to /tmp/kc-cap first; the pcap lands in /tmp/kc-cap/ike.pcap. The namespaces are removed at the end; remove /tmp/kc-cap after.
cd /tmp/kc-cap
ip netns add kc-a; ip netns add kc-b
ip link add kc-va type veth peer name kc-vb
ip link set kc-va netns kc-a; ip link set kc-vb netns kc-b
ip -n kc-a link set lo up; ip -n kc-b link set lo up
ip -n kc-a addr add 192.0.2.1/24 dev kc-va; ip -n kc-b addr add 192.0.2.2/24 dev kc-vb
ip -n kc-a link set kc-va up; ip -n kc-b link set kc-vb up
ip netns exec kc-a tshark -i kc-va -w /tmp/kc-cap/ike.pcap -f "udp port 500" > tcpdump.log 2>&1 &
TP=$!
sleep 1
ip netns exec kc-b unshare -m /tmp/kc-cap/charon.sh b 192.0.2.2 192.0.2.1 0 &
BP=$!
sleep 1
ip netns exec kc-a unshare -m /tmp/kc-cap/charon.sh a 192.0.2.1 192.0.2.2 1
wait $BP
sleep 1
kill $TP; wait $TP
ip netns del kc-a; ip netns del kc-b
