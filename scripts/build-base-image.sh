#!/bin/sh
# Builds a small local base image for the release images, offline: no registry is reachable on
# the project's machines (developers' and CI's), so instead of `FROM node:20-bookworm-slim` the
# tests and CI build on a `docker import` of a rootfs holding this host's node binary, the
# shared libraries `ldd` lists for it, /bin/sh (dash) and the few coreutils the release kit's sh
# wrapper may call. Takes about a second or two; skipped when the image exists and was built from
# the same node binary, unless --force.
#
#   scripts/build-base-image.sh [--force] [--tag leapfrog/node-base:local]
#
# Then: leapfrog images build --base-image leapfrog/node-base:local
set -eu

TAG="${LEAPFROG_BASE_IMAGE:-leapfrog/node-base:local}"
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) shift; TAG="$1" ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-base-image: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

NODE_BIN="$(readlink -f "$(command -v node)")"
SH_BIN="$(readlink -f "$(command -v dash || command -v sh)")"
# A fingerprint of what goes in: a new node on the host means a new base image.
FINGERPRINT="$("$NODE_BIN" --version)-$(stat -c '%s-%Y' "$NODE_BIN")"

if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  HAVE="$(docker image inspect --format '{{ index .Config.Labels "leapfrog.base.fingerprint" }}' "$TAG" 2>/dev/null || true)"
  if [ "$HAVE" = "$FINGERPRINT" ]; then
    echo "build-base-image: $TAG is up to date (node $("$NODE_BIN" --version)); --force rebuilds it"
    exit 0
  fi
fi

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/leapfrog-base.XXXXXX")"
trap 'rm -rf "$ROOT"' EXIT INT TERM

mkdir -p "$ROOT/usr/local/bin" "$ROOT/usr/bin" "$ROOT/bin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/root" \
  "$ROOT/home/node" "$ROOT/opt" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
chmod 1777 "$ROOT/tmp"

# Copies a file to the same path inside the rootfs (following symlinks to the real file).
put() {
  mkdir -p "$ROOT$(dirname "$1")"
  cp -L "$1" "$ROOT$1"
}

# Copies a binary and every shared library ldd resolves for it (plus the dynamic loader).
put_with_libs() {
  put "$1"
  ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | while read -r lib; do
    [ -e "$ROOT$lib" ] || put "$lib"
  done
}

cp "$NODE_BIN" "$ROOT/usr/local/bin/node"
put_with_libs "$NODE_BIN"
ln -sf /usr/local/bin/node "$ROOT/usr/bin/node"

put_with_libs "$SH_BIN"
[ "$SH_BIN" = /bin/sh ] || ln -sf "$SH_BIN" "$ROOT/bin/sh"
# The kit's wrapper is plain sh; these cover what such scripts commonly call besides builtins.
for tool in env dirname basename readlink cat ls sleep mkdir rm; do
  path="$(command -v "$tool" || true)"
  [ -n "$path" ] && put_with_libs "$(readlink -f "$path")"
  real="$(readlink -f "$path")"
  [ -n "$path" ] && [ ! -e "$ROOT/usr/bin/$tool" ] && ln -sf "$real" "$ROOT/usr/bin/$tool"
  [ -n "$path" ] && [ ! -e "$ROOT/bin/$tool" ] && ln -sf "$real" "$ROOT/bin/$tool"
done

# A non-root user like the official node image's, for `--docker-user node`.
cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 "$ROOT/home/node" 2>/dev/null || true
echo 'hosts: files dns' >"$ROOT/etc/nsswitch.conf"

tar -C "$ROOT" -cf - . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_ENV=production' \
  --change 'CMD ["node"]' \
  --change "LABEL leapfrog.base=local leapfrog.base.fingerprint=$FINGERPRINT" \
  --message "leapfrog offline base: host node $("$NODE_BIN" --version)" \
  - "$TAG" >/dev/null

echo "build-base-image: built $TAG (node $("$NODE_BIN" --version), $(docker image inspect --format '{{.Size}}' "$TAG") bytes)"
