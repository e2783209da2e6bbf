#!/usr/bin/env bash
# Installs a release build of BridgeOS on this machine (Debian/Ubuntu, run as root):
#   swift build -c release --product bridgeos && sudo packaging/install.sh
# The binary is self-contained apart from system libraries: schema and locales are embedded,
# so nothing from the source tree is needed at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=".build/release/bridgeos"
[ -x "$binary" ] || { echo "install: $binary not found; run: swift build -c release --product bridgeos" >&2; exit 1; }

command -v sqlite3 >/dev/null || echo "install: tip: apt-get install sqlite3 for ad-hoc inspection"
dpkg-query -W -f='${Status}' libsqlite3-0 2>/dev/null | grep -q "install ok installed" \
    || { echo "install: libsqlite3-0 is required: apt-get install libsqlite3-0" >&2; exit 1; }

id bridgeos >/dev/null 2>&1 || useradd --system --home-dir /var/lib/bridgeos --shell /usr/sbin/nologin bridgeos
install -d -o bridgeos -g bridgeos -m 0700 /var/lib/bridgeos
install -d -m 0755 /etc/bridgeos
install -m 0755 "$binary" /usr/local/bin/bridgeos
if [ ! -e /etc/bridgeos/bridgeos.env ]; then
    install -o root -g bridgeos -m 0640 packaging/bridgeos.env.example /etc/bridgeos/bridgeos.env
fi

runuser -u bridgeos -- /usr/local/bin/bridgeos migrate --env-file /etc/bridgeos/bridgeos.env
# doctor exits 2 for warnings (before tokens are added there are some) and 1 for a failure.
doctor=0
runuser -u bridgeos -- /usr/local/bin/bridgeos doctor --env-file /etc/bridgeos/bridgeos.env || doctor=$?
[ "$doctor" -ne 1 ] || { echo "install: bridgeos doctor found a problem (above)" >&2; exit 1; }
if [ -d /etc/systemd/system ]; then
    install -m 0644 packaging/bridgeos.service /etc/systemd/system/bridgeos.service
    command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
    echo "install: systemd unit installed; after adding bot tokens: systemctl enable --now bridgeos"
fi
echo "install: done. Settings: /etc/bridgeos/bridgeos.env (add BRIDGEOS_BOT1_TOKEN…), data: /var/lib/bridgeos"
