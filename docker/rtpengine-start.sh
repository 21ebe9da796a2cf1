#!/bin/sh
# Entry point of the rtpengine container in docker-compose.yml (profile `media`), and usable by
# hand: runs rtpengine in the foreground with everything on its command line (not Debian's
# /etc/rtpengine/rtpengine.conf).
#   RTP_INTERFACE        the address RTP is received on (required)
#   SIP_PUBLIC_IP        advertised in SDP instead, when the host is behind NAT (optional)
#   RTP_PORT_MIN/MAX     the UDP range for RTP and RTCP (default 30000-40000)
#   RTPENGINE_NG_LISTEN  ng control address (default 127.0.0.1:22222; it has no authentication)
#   RTPENGINE_TIMEOUT    seconds without RTP before rtpengine drops a call itself, the last net
#                        when an edge died mid-call (default 60)
set -eu

if [ -z "${RTP_INTERFACE:-}" ]; then
  echo "rtpengine-start: set RTP_INTERFACE to this host's address for RTP (e.g. 10.0.0.5)" >&2
  exit 1
fi
interface="$RTP_INTERFACE"
if [ -n "${SIP_PUBLIC_IP:-}" ]; then interface="$RTP_INTERFACE!$SIP_PUBLIC_IP"; fi

exec rtpengine --config-file=none --foreground --log-stderr \
  --table=-1 \
  --interface="$interface" \
  --listen-ng="${RTPENGINE_NG_LISTEN:-127.0.0.1:22222}" \
  --listen-cli=127.0.0.1:"${RTPENGINE_CLI_PORT:-2224}" \
  --port-min="${RTP_PORT_MIN:-30000}" --port-max="${RTP_PORT_MAX:-40000}" \
  --timeout="${RTPENGINE_TIMEOUT:-60}" \
  --delete-delay=0 \
  "$@"
