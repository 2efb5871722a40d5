#!/bin/bash
# Install hacore on Debian 12 (run as root from a checkout).
#   ./install.sh          hacore, its built-in agents, OCF resource-agents and fence-agents
#   ./install.sh --demo   also what `hacore demo` runs (apache2)
#   ./install.sh --test   also what the test suite needs (apache2, mariadb-server, pytest, ...)
# Everything Python goes into a virtual environment (default /opt/hacore, HACORE_PREFIX to
# change); the commands are linked into /usr/local/bin.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

with_tests=0
with_demo=0
case "${1:-}" in
  --test) with_tests=1 ;;
  --demo) with_demo=1 ;;
  "") ;;
  *) echo "usage: $0 [--demo | --test]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (it installs Debian packages)" >&2; exit 2
fi

prefix="${HACORE_PREFIX:-/opt/hacore}"
packages="python3 python3-venv gcc libc6-dev iproute2 nftables kmod e2fsprogs util-linux procps resource-agents fence-agents"
if [ "$with_tests" = 1 ]; then
  packages="$packages apache2 mariadb-server mariadb-client libxml2-utils curl git"
  packages="$packages chromium chromium-driver"  # the web console's browser tests (Selenium)
elif [ "$with_demo" = 1 ]; then
  packages="$packages apache2 curl"
fi

# Package scripts would start apache2 and mariadb on install; hacore (the demo, the tests)
# starts its own instances, per node. Block service starts during the install only.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $packages >/dev/null
if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi

/usr/bin/python3 -m venv "$prefix"
pip=("$prefix/bin/pip" install -q --disable-pip-version-check)
if [ "$with_tests" = 1 ]; then
  "${pip[@]}" -e ".[test]"
else
  "${pip[@]}" -e .
fi
for agent in agents/*/; do
  [ -f "$agent/pyproject.toml" ] && "${pip[@]}" -e "$agent"
done
# The executor's script launcher (hacore/executor/launcher.c), compiled for this machine;
# without it scripts start through a slower Python path (the executor logs which).
"$prefix/bin/python" -m hacore.executor.launcher build \
  || echo "install.sh: the executor's launcher was not built; scripts start through the slower Python path" >&2
for command in hacore hacore-agent fence_hacore_testbed; do
  if [ -x "$prefix/bin/$command" ]; then ln -sf "$prefix/bin/$command" "/usr/local/bin/$command"; fi
done
# systemd: install the unit (enabled by the admin once /etc/hacore/cluster.toml is in
# place: systemctl enable --now hacore), /etc/default/hacore, and a sample /etc/hacore.
if command -v systemctl >/dev/null 2>&1 && [ -d /etc/systemd/system ]; then
  install -m 644 packaging/hacore.service /etc/systemd/system/hacore.service
  [ -e /etc/default/hacore ] || install -m 644 packaging/default-hacore /etc/default/hacore
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || echo "install.sh: systemctl daemon-reload failed; run it yourself" >&2; fi
  echo "hacore.service installed; once /etc/hacore/cluster.toml is ready: systemctl enable --now hacore"
fi
if [ ! -e /etc/hacore ]; then
  install -d -m 755 /etc/hacore /etc/hacore/alerts
  install -d -m 700 /etc/hacore/secrets
  install -m 644 packaging/etc-hacore/README packaging/etc-hacore/cluster.toml.example /etc/hacore/
  install -m 644 packaging/etc-hacore/secrets/README /etc/hacore/secrets/
  install -m 755 packaging/etc-hacore/alerts/log-alert.sh /etc/hacore/alerts/
fi
echo "hacore installed in $prefix; commands linked into /usr/local/bin"
