#!/usr/bin/env bash
# Installs and configures podman so that docker-compose.yml runs on this Debian 12 host as root,
# for the container tests (test/deploy/containers.test.ts) and for an operator without Docker:
#   scripts/podman-setup.sh
# * Debian's podman (4.3), runc, catatonit (compose's `init: true`), the CNI dnsname plugin
#   (service names such as `redis` resolve on compose networks), iptables (podman's networks
#   and published ports) and debootstrap (scripts/podman-base-images.sh builds the stand-in
#   base images with it); Compose is Debian's docker-compose (1.29, already in the test command),
#   talking to podman's Docker-compatible API socket (`podman system service`), which runs
#   docker-compose.yml as written (profiles, depends_on conditions, stop_grace_period; host-gateway
#   excepted: HOST_GATEWAY in .env.example).
# * /etc/containers/containers.conf.d/50-wa-sip-edge.conf:
#     runtime = "runc"      crun refuses this kernel's cgroup layout ("cgroups in hybrid mode not
#                           supported"); runc runs it.
#     default_ulimits       nofile 20000 (or `ulimit -Hn` when lower): podman's default of 1048576
#                           is above the machine's hard limit and every start fails with
#                           "setrlimit RLIMIT_NOFILE: Operation not permitted"; likewise nproc
#                           at most kernel.pid_max (and `ulimit -Hu`): as root podman asks for
#                           more processes than runc may set, which fails with "error setting
#                           rlimit type 6" (measured here: pid_max 32768 works, 40000 fails,
#                           though `ulimit -Hu` is 96367).
#     cgroup_manager, events_logger: cgroupfs and file, for hosts where systemd is not PID 1
#                           (containers, CI sandboxes); under systemd podman's defaults are fine.
# Safe to run again: installs only what is missing and rewrites the one file.
set -euo pipefail

PACKAGES=(podman runc catatonit golang-github-containernetworking-plugin-dnsname debootstrap docker-compose iptables)
CONF_DIR=/etc/containers/containers.conf.d
CONF=$CONF_DIR/50-wa-sip-edge.conf

die() { echo "podman-setup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (apt-get, /etc/containers)."
command -v apt-get >/dev/null 2>&1 || die "needs Debian (12) with apt-get."

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# At most the hard limit this shell has (podman's own defaults are above it here).
within_hard() { local hard=$1 want=$2; if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then echo "$hard"; else echo "$want"; fi; }
nofile=$(within_hard "$(ulimit -Hn)" 20000)
nproc=$(within_hard "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max)")
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  cgroups='# systemd is PID 1: podman keeps its default cgroup manager and event logger'
else
  cgroups=$'cgroup_manager = "cgroupfs"\nevents_logger = "file"'
fi
mkdir -p "$CONF_DIR"
cat >"$CONF.tmp" <<CONF
# Written by scripts/podman-setup.sh (wa-sip-edge); rewritten on every run.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
$cgroups
CONF
mv -f "$CONF.tmp" "$CONF"
echo "podman-setup: $(podman --version), runc $(runc --version | head -n 1 | awk '{print $3}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'); $CONF written (nofile $nofile, nproc $nproc)."
