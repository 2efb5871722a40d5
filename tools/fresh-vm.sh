#!/bin/bash
# Like ../shared/tools/fresh-machine.sh (a clean Debian 12 root holding a fresh clone of this
# checkout, the command run there as root), with three differences that make it behave like
# a fresh machine rather than a chroot:
#   - the root directory is mode 0755 (the debootstrap tarball's is 0700: non-root daemons
#     such as apache2's and mariadbd's workers could not load their libraries),
#   - the root is a mount point (bind-mounted on itself), so `mount --make-rslave /` and the
#     testbed's per-node mount namespaces work,
#   - this machine's extra CA certificates and pip.conf are copied in, so pip reaches PyPI
#     through the same proxy as the host.
# Usage: tools/fresh-vm.sh 'cd /root/hacore && bash .ci/run'
set -euo pipefail
CACHE=/var/tmp/fresh-bookworm.tar
ROOT=${FRESH_ROOT:-/var/tmp/fresh-vm-root}
PROJECT=${PROJECT:-$(git rev-parse --show-toplevel 2>/dev/null)}
if [ ! -f "$CACHE" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  # the Debian mirror this machine's apt already uses
  mirror=$(grep -rhoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | grep -m1 '/debian$' || true)
  tmp=$(mktemp -d /var/tmp/deboot.XXXX)
  debootstrap --variant=minbase --include=ca-certificates,git,python3,python3-venv,python3-pip,iproute2,procps bookworm "$tmp" "$mirror" >/var/tmp/debootstrap.log 2>&1
  tar -C "$tmp" -cf "$CACHE" .
  rm -rf "$tmp"
fi
cleanup() { for m in run/netns dev/pts dev sys proc; do umount -l "$ROOT/$m" 2>/dev/null || true; done; umount -l "$ROOT" 2>/dev/null || true; }
trap cleanup EXIT
cleanup; rm -rf "$ROOT"; mkdir -p "$ROOT"; tar -C "$ROOT" -xf "$CACHE"; chmod 755 "$ROOT"; mount --bind "$ROOT" "$ROOT"; mkdir -p "$ROOT/usr/local/share/ca-certificates"; cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true; cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true; cp /etc/pip.conf "$ROOT/etc/pip.conf" 2>/dev/null || true
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
git clone -q "$PROJECT" "$ROOT/root/hacore"
mount -t proc proc "$ROOT/proc"; mount --rbind /sys "$ROOT/sys"; mount --rbind /dev "$ROOT/dev"
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /bin/bash -lc "$1"
