#!/bin/sh
# A local rtpengine for development and the README's run command (WA_EDGE_MEDIA=true): installs
# Debian's rtpengine-daemon when missing, then starts rtpengine in the background, user space,
# ng on 127.0.0.1:22222 (RTPENGINE_NG_PORT), RTP on this host's first address (RTP_INTERFACE) in
# 30000-40000. Does nothing when something already answers ng ping there. Log: $RTPENGINE_LOG.
set -eu

port=${RTPENGINE_NG_PORT:-22222}
log=${RTPENGINE_LOG:-/tmp/wa-edge-rtpengine.log}

ng_ping() {
  node -e '
    const s = require("node:dgram").createSocket("udp4");
    const t = setTimeout(() => process.exit(1), 500);
    s.on("message", (m) => { clearTimeout(t); process.exit(m.includes("pong") ? 0 : 1); });
    s.send("wa-edge-ping d7:command4:pinge", Number(process.argv[1]), "127.0.0.1");
  ' "$port"
}

if ng_ping; then
  echo "rtpengine-local: an rtpengine already answers on 127.0.0.1:$port"
  exit 0
fi
if ! command -v rtpengine >/dev/null 2>&1; then
  apt-get install -y rtpengine-daemon >/dev/null || { apt-get update -qq && apt-get install -y rtpengine-daemon >/dev/null; }
fi

interface=${RTP_INTERFACE:-$(hostname -I 2>/dev/null | awk '{print $1}')}
interface=${interface:-127.0.0.1}
RTP_INTERFACE=$interface RTPENGINE_NG_LISTEN=127.0.0.1:$port \
  nohup sh "$(dirname "$0")/../docker/rtpengine-start.sh" >"$log" 2>&1 &

for _ in $(seq 1 50); do
  if ng_ping; then
    echo "rtpengine-local: rtpengine on 127.0.0.1:$port, RTP on $interface (log $log)"
    exit 0
  fi
  sleep 0.1
done
echo "rtpengine-local: rtpengine did not start; see $log" >&2
tail -n 20 "$log" >&2
exit 1
