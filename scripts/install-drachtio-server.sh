#!/usr/bin/env bash
# Installs drachtio-server, the SIP engine the edge drives, on Debian 12 (as root):
#   sudo scripts/install-drachtio-server.sh
# builds the version docker-compose.yml pins with the upstream steps (bootstrap, configure with
# the upstream Dockerfile's flags, make) plus the project's patches (deploy/drachtio/patches/*.patch,
# in name order: verified outgoing TLS, iPAddress subjects for an address target, docs/tls.md;
# requests no application takes answered 501/405 with Allow, docs/operations.md §6) and installs the one binary as
# $PREFIX/bin/drachtio. Its --version is the pinned one with PATCH_SUFFIX appended
# (v0.9.10-1-g9c2dd4cb6a+tlsverify.3); the edge reads that suffix to know the engine verifies.
#
#   DRACHTIO_SOURCE  a .tar.gz of the source tree (submodules included) or such a directory;
#                    unset: a shallow clone of the public repository at the pinned commit
#   PREFIX           install prefix (default /opt/drachtio)
#   DRACHTIO_BUILD_LOG  where the full build log goes (default: a new file under /tmp)
#   DRACHTIO_FORCE=1 rebuild even when the pinned version is already installed
#
# Safe to run again: with the pinned, patched version installed it says so and exits; an
# installed binary without PATCH_SUFFIX (unpatched, or an older patch level) is rebuilt. A patch
# that does not apply stops the build before anything is compiled. It builds in a
# temporary directory and replaces the installed binary only with one that ran --version, so a
# failed or interrupted build leaves the previous install as it was.
set -euo pipefail

PINNED_TAG=v0.9.10
PINNED_COMMIT=9c2dd4cb6ae7c86fc494f028d35ea3381e311e38
# What `git describe` says of that commit; the binary reports it as its version.
PINNED_DESCRIBE=v0.9.10-1-g9c2dd4cb6a
# Appended to the version the binary reports; bump the number whenever a patch changes.
PATCH_SUFFIX=+tlsverify.3
PATCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deploy/drachtio/patches
REPO_URL=https://github.com/drachtio/drachtio-server.git
PREFIX=${PREFIX:-/opt/drachtio}
BIN="$PREFIX/bin/drachtio"
# The upstream Dockerfile's build dependencies, with Boost narrowed to the four libraries the
# binary links (thread, system, log, filesystem) instead of libboost-all-dev.
BUILD_DEPS=(ca-certificates gcc g++ make build-essential cmake autoconf automake libtool libtool-bin
  libssl-dev libcurl4-openssl-dev zlib1g-dev libgoogle-perftools-dev patch
  libboost-dev libboost-thread-dev libboost-system-dev libboost-log-dev libboost-filesystem-dev)

die() { echo "install-drachtio-server: $*" >&2; exit 1; }

installed_version() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | head -n 1 || true; }

# --- checks that touch nothing -------------------------------------------------------------
current=$(installed_version)
if [ -z "${DRACHTIO_FORCE:-}" ] && [[ "$current" == *"$PINNED_TAG"*"$PATCH_SUFFIX" ]]; then
  echo "install-drachtio-server: $BIN already reports $current (pinned $PINNED_TAG, patches $PATCH_SUFFIX); nothing to do."
  exit 0
fi
patches=("$PATCH_DIR"/*.patch)
[ -r "${patches[0]}" ] || die "no patches in $PATCH_DIR (run the script from its place in the repository)."
[ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 || die "needs Debian (12) with apt-get; build by hand elsewhere (see drachtio-server's README)."
[ "$(id -u)" = 0 ] || die "run as root (it installs packages with apt-get and writes $PREFIX)."
if [ -n "${DRACHTIO_SOURCE:-}" ]; then
  if [ -d "$DRACHTIO_SOURCE" ]; then
    [ -r "$DRACHTIO_SOURCE/configure.ac" ] && [ -d "$DRACHTIO_SOURCE/deps/sofia-sip" ] ||
      die "DRACHTIO_SOURCE=$DRACHTIO_SOURCE is a directory but not a drachtio-server tree with its submodules (no configure.ac or deps/sofia-sip)."
  elif [ -f "$DRACHTIO_SOURCE" ]; then
    tar tzf "$DRACHTIO_SOURCE" >/dev/null 2>&1 || die "DRACHTIO_SOURCE=$DRACHTIO_SOURCE is not a readable .tar.gz archive."
  else
    die "DRACHTIO_SOURCE=$DRACHTIO_SOURCE does not exist."
  fi
fi

# --- the build, in phases ------------------------------------------------------------------
work=$(mktemp -d /tmp/drachtio-build.XXXXXX)
LOG=${DRACHTIO_BUILD_LOG:-$(mktemp /tmp/drachtio-build-XXXXXX.log)}
: >"$LOG"
started=$SECONDS
phase=start
cleanup() { rm -rf "$work"; }
fail() {
  echo "install-drachtio-server: FAILED in phase '$phase' after $((SECONDS - started)) s; $BIN is unchanged. Last lines of $LOG:" >&2
  tail -n 25 "$LOG" >&2
  cleanup
  exit 1
}
trap fail ERR
trap 'phase="$phase (interrupted)"; fail' INT TERM
step() {
  phase=$1
  echo "install-drachtio-server: [$(printf '%4d' $((SECONDS - started))) s] $phase"
  echo "===== $phase" >>"$LOG"
}

echo "install-drachtio-server: building drachtio-server $PINNED_DESCRIBE$PATCH_SUFFIX into $BIN; full log: $LOG"
[ -n "$current" ] && echo "install-drachtio-server: replacing $current"

step deps
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${BUILD_DEPS[@]}" $([ -z "${DRACHTIO_SOURCE:-}" ] && echo git); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >>"$LOG" 2>&1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1
fi

step source
src="$work/drachtio-server"
if [ -z "${DRACHTIO_SOURCE:-}" ]; then
  git init -q "$src" >>"$LOG" 2>&1
  git -C "$src" fetch -q --depth 1 "$REPO_URL" "$PINNED_COMMIT" >>"$LOG" 2>&1
  git -C "$src" checkout -q FETCH_HEAD >>"$LOG" 2>&1
  git -C "$src" submodule update -q --init --recursive --depth 1 >>"$LOG" 2>&1
elif [ -d "$DRACHTIO_SOURCE" ]; then
  cp -a "$DRACHTIO_SOURCE" "$src"
else
  mkdir -p "$work/unpack"
  tar xzf "$DRACHTIO_SOURCE" -C "$work/unpack" >>"$LOG" 2>&1
  top=$(dirname "$(find "$work/unpack" -maxdepth 2 -name configure.ac | head -n 1)")
  [ -d "$top/deps/sofia-sip" ] || { echo "no drachtio-server tree with deps/sofia-sip in the archive" >>"$LOG"; false; }
  mv "$top" "$src"
fi

step patch
# Each patch is tried (--dry-run) before it is applied: one that does not apply stops the build
# with its name and patch's output in the log, nothing half patched is compiled.
for p in "${patches[@]}"; do
  echo "applying $p" >>"$LOG"
  (cd "$src" && patch -p1 --forward --batch --dry-run <"$p") >>"$LOG" 2>&1 ||
    { echo "the patch $p does not apply to this source tree; refusing to build without it" >>"$LOG"; false; }
  (cd "$src" && patch -p1 --forward --batch <"$p") >>"$LOG" 2>&1
done

step bootstrap
(cd "$src" && ./bootstrap.sh) >>"$LOG" 2>&1

step configure
mkdir -p "$src/build"
(cd "$src/build" && ../configure --enable-tcmalloc=yes CPPFLAGS='-DNDEBUG' CXXFLAGS='-O2') >>"$LOG" 2>&1

step make
(cd "$src/build" && make -j"$(nproc)" MYVERSION="$PINNED_DESCRIBE$PATCH_SUFFIX") >>"$LOG" 2>&1

step install
built="$src/build/drachtio"
version=$("$built" --version 2>>"$LOG" | head -n 1)
[[ "$version" == *"$PINNED_TAG"*"$PATCH_SUFFIX" ]] || { echo "the built binary reports '$version', not $PINNED_TAG...$PATCH_SUFFIX" >>"$LOG"; false; }
mkdir -p "$PREFIX/bin"
install -m 0755 "$built" "$BIN.new"
mv -f "$BIN.new" "$BIN"
trap - ERR INT TERM
cleanup
echo "install-drachtio-server: [$(printf '%4d' $((SECONDS - started))) s] done: $BIN reports $("$BIN" --version | head -n 1)"
