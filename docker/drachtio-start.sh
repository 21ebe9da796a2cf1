#!/bin/sh
# Entry point of the drachtio container in docker-compose.yml (runs inside the official
# drachtio/drachtio-server image, as `sh /usr/local/bin/drachtio-start.sh`):
#  1. makes sure the TLS key and certificate of the sips:*:5061 contact exist (a self-signed pair,
#     with a loud warning, when the operator has not put real ones in SIP_TLS_DIR), and the chain
#     file without which drachtio-server opens no TLS transport at all (see drachtio.conf.xml): a
#     copy of cert.pem, leaf and intermediates, never the system CA bundle (see below);
#  2. when SIP_PUBLIC_IP is set (the host is behind NAT, or Docker's bridge is), repeats the
#     contacts of drachtio.conf.xml on the command line with --external-ip, so Via/Contact/SDP
#     o-lines towards Telnyx and the PBX carry the public address instead of the container's;
#  3. switches on the verification of outgoing TLS (calls and the registration to Telnyx): chain,
#     dates and name, wildcards for one left-most label, the system CA store, unless
#     TELNYX_TLS_VERIFY / TELNYX_TLS_WILDCARD say false (keep them equal to the edge's telnyx.tls);
#     it takes the patched engine (docker/Dockerfile.drachtio, scripts/install-drachtio-server.sh,
#     docs/tls.md): an engine without the patch ignores these variables and the edge says so;
#  4. with WA_EDGE_PHONE=true adds the console phone's WSS listener, sips:*:8443;transport=wss;
#  5. execs drachtio -f /etc/drachtio/drachtio.conf.xml.
set -eu

CONF=${DRACHTIO_CONF:-/etc/drachtio/drachtio.conf.xml}
KEY=${DRACHTIO_TLS_KEY_FILE:-/etc/drachtio/tls/privkey.pem}
CERT=${DRACHTIO_TLS_CERT_FILE:-/etc/drachtio/tls/cert.pem}
# Beside cert.pem unless set; exported below, so drachtio reads the file this script checked.
CHAIN=${DRACHTIO_TLS_CHAIN_FILE:-$(dirname "$CERT")/chain.pem}
# First line of a chain file this script wrote: such a file is rewritten on every start, so a
# renewed cert.pem (new intermediates) is picked up; any other chain.pem is the operator's. Files
# of earlier versions (cert.pem and the system CA bundle) start with the same words.
CHAIN_MARK="# written by drachtio-start.sh from cert.pem (leaf and intermediates); rewritten on every start"

if [ ! -s "$KEY" ] || [ ! -s "$CERT" ]; then
  if ! command -v openssl >/dev/null 2>&1; then
    echo "drachtio-start: $KEY / $CERT missing and no openssl to make a self-signed pair: put privkey.pem and cert.pem in SIP_TLS_DIR" >&2
    exit 1
  fi
  echo "drachtio-start: WARNING: no TLS certificate in $(dirname "$CERT"); writing a SELF-SIGNED one for ${SIP_DOMAIN:-wa-edge.local}." >&2
  echo "drachtio-start: WARNING: SIP over TLS (5061) will not be trusted by peers that verify; put real privkey.pem and cert.pem there." >&2
  mkdir -p "$(dirname "$KEY")" "$(dirname "$CERT")"
  umask 077
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 \
    -subj "/CN=${SIP_DOMAIN:-wa-edge.local}" -addext "subjectAltName=DNS:${SIP_DOMAIN:-wa-edge.local}" \
    -keyout "$KEY" -out "$CERT" >/dev/null 2>&1
fi

# The chain file: drachtio-server's CA list and the source of the intermediates it sends. Without
# it sofia-sip looks for ./cafile.pem, fails, and drachtio runs with no TLS transport. The WSS
# listener (WA_EDGE_PHONE) sends every certificate in it after the first: with the system CA
# bundle that was 146 certificates, beyond what browsers accept (docs/webrtc.md). The roots that
# verify Telnyx come from the system store (DRACHTIO_TLS_SYSTEM_CA below), not from this file.
ours=
if [ -s "$CHAIN" ]; then
  case "$(head -n 1 "$CHAIN")" in "# written by drachtio-start.sh"*) ours=1 ;; esac
fi
if [ ! -s "$CHAIN" ] || [ -n "$ours" ]; then
  mkdir -p "$(dirname "$CHAIN")"
  { echo "$CHAIN_MARK"; cat "$CERT"; } > "$CHAIN.tmp"
  mv "$CHAIN.tmp" "$CHAIN"
fi
export DRACHTIO_TLS_CHAIN_FILE="$CHAIN"

# Outgoing TLS verification (docs/tls.md); DRACHTIO_TLS_* set in the environment win.
flag() { case "$1" in true|1|yes|on) echo 1 ;; false|0|no|off) echo 0 ;; *) echo "drachtio-start: $2=$1 is not true or false" >&2; exit 1 ;; esac; }
verify=$(flag "${TELNYX_TLS_VERIFY:-true}" TELNYX_TLS_VERIFY)
wildcard=$(flag "${TELNYX_TLS_WILDCARD:-true}" TELNYX_TLS_WILDCARD)
export DRACHTIO_TLS_VERIFY_SERVER_CERT="${DRACHTIO_TLS_VERIFY_SERVER_CERT:-$verify}"
export DRACHTIO_TLS_VERIFY_WILDCARD="${DRACHTIO_TLS_VERIFY_WILDCARD:-$wildcard}"
export DRACHTIO_TLS_SYSTEM_CA="${DRACHTIO_TLS_SYSTEM_CA:-1}"
if [ "$DRACHTIO_TLS_VERIFY_SERVER_CERT" != 1 ]; then
  echo "drachtio-start: WARNING: outgoing TLS is NOT VERIFIED (TELNYX_TLS_VERIFY=false): calls and the registration go to whoever answers." >&2
fi

# The console's phone (sip.webrtc, docs/webrtc.md): SIP over WSS on 8443, with the TLS files above.
phone=$(flag "${WA_EDGE_PHONE:-false}" WA_EDGE_PHONE)

set -- -f "$CONF"
if [ -n "${SIP_PUBLIC_IP:-}" ] || [ "$phone" = 1 ]; then
  # Command-line contacts replace those of the file: keep them identical to drachtio.conf.xml, each
  # followed by the public address when there is one.
  set -- "$@" --contact "sip:*:5060;transport=udp,tcp"
  if [ -n "${SIP_PUBLIC_IP:-}" ]; then set -- "$@" --external-ip "$SIP_PUBLIC_IP"; fi
  set -- "$@" --contact "sips:*:5061;transport=tls"
  if [ -n "${SIP_PUBLIC_IP:-}" ]; then set -- "$@" --external-ip "$SIP_PUBLIC_IP"; fi
  if [ "$phone" = 1 ]; then
    set -- "$@" --contact "sips:*:8443;transport=wss"
    if [ -n "${SIP_PUBLIC_IP:-}" ]; then set -- "$@" --external-ip "$SIP_PUBLIC_IP"; fi
  fi
fi

# The image's /entrypoint.sh only adds cloud-metadata lookups (and word-splits its arguments):
# start the server directly.
exec drachtio "$@"
