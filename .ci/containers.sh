#!/usr/bin/env bash
# A real container engine for the container tests and bench/containers.py, set up idempotently:
#
#   .ci/containers.sh setup    install podman + runc + Debian's docker-registry (if missing),
#                              configure them, start the registry on 127.0.0.1:5000, build the
#                              test images and push them there (each step skipped when done)
#   .ci/containers.sh images   (re)build and push the test images only
#   .ci/containers.sh stop     stop the registry this script started
#
# Why these settings (found on the CI machines, Debian 12, no systemd, no Docker Hub access):
# - crun refuses to start containers ("cgroups in hybrid mode not supported"): runtime = runc.
# - podman's default rlimits fail ("setrlimit RLIMIT_NOFILE: Operation not permitted"):
#   default_ulimits lowered to what the machine allows.
# - no registry on the internet answers: images are made from a root file system of the host's
#   own bash, dash (as /bin/sh), coreutils, grep, sed and their libraries, imported with
#   `podman import`, and served by a registry on loopback (plain HTTP: marked insecure).
set -euo pipefail

REGISTRY=127.0.0.1:5000
PREFIX=$REGISTRY/wdl2sfn-test
STATE=${WDL2SFN_CONTAINERS_STATE:-/var/tmp/wdl2sfn-containers}
PIDFILE=$STATE/registry.pid
# The images the tests use: NAME:TAG and the `podman import --change` lines that make each.
#   base: runs as root, no environment of its own
#   user: runs as uid 1234 (as many published images do), with an environment of its own
#   pull: base's twin, removed from the local store by the test that watches a pull
#   nobash: base without bash, which a task's wrapper needs (the container cannot start)
IMAGES=(base:1 user:1 pull:1 nobash:1)
image_changes() {
    case "$1" in
        base:1 | pull:1) echo 'CMD ["/bin/bash"]' ;;
        nobash:1) echo 'CMD ["/bin/sh"]' ;;
        user:1) printf '%s\n' 'CMD ["/bin/bash"]' 'USER 1234:1234' 'ENV IMAGE_GREETING=from-the-image' \
            'ENV PATH=/usr/local/bin:/usr/bin:/bin' ;;
    esac
}

log() { echo "[containers.sh] $*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null; then exec sudo -E "$0" "$@"; fi
        log "must run as root (installs packages, writes /etc/containers)"; exit 1
    fi
}

install_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
    fi
}

# write FILE from stdin unless it already holds exactly that
write_if_changed() {
    local file=$1 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if ! cmp -s "$tmp" "$file" 2>/dev/null; then
        mkdir -p "$(dirname "$file")"
        mv "$tmp" "$file"
        chmod 644 "$file"
        log "wrote $file"
    else
        rm -f "$tmp"
    fi
}

configure() {
    write_if_changed /etc/containers/containers.conf <<'EOF'
# written by wdl2sfn's .ci/containers.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
EOF
    write_if_changed /etc/containers/registries.conf.d/50-wdl2sfn-test.conf <<EOF
# written by wdl2sfn's .ci/containers.sh: the test registry speaks plain HTTP on loopback
[[registry]]
location = "$REGISTRY"
insecure = true
EOF
    write_if_changed "$STATE/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
}

registry_up() { curl -fsS -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; }

start_registry() {
    if registry_up; then return; fi
    mkdir -p "$STATE/registry"
    log "starting docker-registry on $REGISTRY"
    setsid /usr/bin/docker-registry serve "$STATE/registry.yml" >>"$STATE/registry.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do registry_up && return; sleep 0.1; done
    log "the registry did not answer on $REGISTRY; see $STATE/registry.log"; exit 1
}

stop_registry() {
    if [ -f "$PIDFILE" ]; then
        local pid
        pid=$(cat "$PIDFILE")
        if kill "$pid" 2>/dev/null; then log "stopped the registry (pid $pid)"; fi
        rm -f "$PIDFILE"
    fi
}

# a root file system: the host's bash, dash as /bin/sh, coreutils, grep, sed and their libraries
build_rootfs() {
    local root=$1 bins=() f lib
    mapfile -t bins < <(dpkg -L coreutils | grep -E '^/(usr/)?bin/[^/]+$')
    bins+=(/bin/bash /bin/dash /bin/grep /bin/sed /usr/bin/env)
    mkdir -p "$root"/{bin,usr/bin,etc,tmp,root,home}
    chmod 1777 "$root/tmp"
    for f in "${bins[@]}"; do
        f=$(readlink -f "$f")
        [ -f "$f" ] || continue
        cp -n "$f" "$root/usr/bin/$(basename "$f")"
        ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
            [ -e "$lib" ] || continue
            mkdir -p "$root$(dirname "$lib")"
            cp -nL "$lib" "$root$lib"
        done
    done
    for f in "$root"/usr/bin/*; do ln -sf "../usr/bin/$(basename "$f")" "$root/bin/$(basename "$f")"; done
    ln -sf dash "$root/usr/bin/sh"
    ln -sf ../usr/bin/dash "$root/bin/sh"
    printf 'root:x:0:0:root:/root:/bin/bash\nworker:x:1234:1234:worker:/home:/bin/bash\n' >"$root/etc/passwd"
    printf 'root:x:0:\nworker:x:1234:\n' >"$root/etc/group"
}

# in the local store and in the registry (HEAD of its manifest, in the formats podman pushes)
image_present() {
    podman image exists "$PREFIX/$1" && curl -fsS -I -o /dev/null \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REGISTRY/v2/wdl2sfn-test/${1%%:*}/manifests/${1##*:}" 2>/dev/null
}

build_images() {
    local force=${1:-} work name args line tarball
    work=$(mktemp -d)
    for name in "${IMAGES[@]}"; do
        if [ -z "$force" ] && image_present "$name"; then continue; fi
        [ -d "$work/rootfs" ] || { build_rootfs "$work/rootfs"; tar -C "$work/rootfs" -cf "$work/rootfs.tar" .; }
        args=()
        while IFS= read -r line; do args+=(--change "$line"); done < <(image_changes "$name")
        log "building $PREFIX/$name"
        podman rmi -i "$PREFIX/$name" >/dev/null 2>&1
        tarball=$work/rootfs.tar
        if [ "$name" = nobash:1 ]; then
            tarball=$work/nobash.tar
            cp "$work/rootfs.tar" "$tarball"
            tar --delete -f "$tarball" ./usr/bin/bash ./bin/bash
        fi
        podman import -q "${args[@]}" "$tarball" "$PREFIX/$name" >/dev/null
        podman push -q "$PREFIX/$name" >/dev/null
    done
    rm -rf "$work"
}

main() {
    case "${1:-setup}" in
        setup)
            need_root "$@"
            local t0=$SECONDS
            install_packages
            configure
            start_registry
            build_images
            log "ready in $((SECONDS - t0)) s: podman $(podman version --format '{{.Client.Version}}'), registry $REGISTRY, images ${IMAGES[*]/#/$PREFIX/}"
            ;;
        images) need_root "$@"; start_registry; build_images force ;;
        stop) stop_registry ;;
        *) echo "usage: $0 setup|images|stop" >&2; exit 2 ;;
    esac
}

main "$@"
