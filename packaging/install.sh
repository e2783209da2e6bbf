#!/usr/bin/env bash
# Installs a release build of BridgeOS from this source tree (Debian/Ubuntu, run as root):
#   swift build -c release --product bridgeos --static-swift-stdlib && sudo packaging/install.sh
# The same layout as the .deb (packaging/build-deb.sh), but the binary goes to /usr/local/bin (the unit's
# /usr/bin/bridgeos is rewritten to match) and the unit to /etc/systemd/system. Run again to upgrade: a
# running service is restarted, and its start backs the database up before migrating it.
# The binary is self-contained apart from system libraries: schema and locales are embedded,
# so nothing from the source tree is needed at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=".build/release/bridgeos"
bin=/usr/local/bin/bridgeos
env_file=/etc/bridgeos/bridgeos.env
[ -x "$binary" ] || { echo "install: $binary not found; run: swift build -c release --product bridgeos --static-swift-stdlib" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "install: run as root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' bridgeos 2>/dev/null | grep -q "install ok installed"; then
    echo "install: the bridgeos package is installed (/usr/bin/bridgeos); upgrade it with a new .deb instead" >&2
    exit 1
fi

command -v sqlite3 >/dev/null || echo "install: tip: apt-get install sqlite3 for ad-hoc inspection"
dpkg-query -W -f='${Status}' libsqlite3-0 2>/dev/null | grep -q "install ok installed" \
    || { echo "install: libsqlite3-0 is required: apt-get install libsqlite3-0" >&2; exit 1; }

getent group bridgeos >/dev/null || groupadd --system bridgeos
id bridgeos >/dev/null 2>&1 || useradd --system --gid bridgeos --home-dir /var/lib/bridgeos --no-create-home \
    --shell /usr/sbin/nologin --comment "BridgeOS" bridgeos
install -d -o bridgeos -g bridgeos -m 0700 /var/lib/bridgeos
# Settings hold tokens: readable by the service's user only (0600; systemd reads it as root, doctor as bridgeos).
install -d -o root -g bridgeos -m 0750 /etc/bridgeos
if [ ! -e "$env_file" ]; then
    install -o bridgeos -g bridgeos -m 0600 packaging/bridgeos.env.example "$env_file"
else
    chown bridgeos:bridgeos "$env_file" && chmod 0600 "$env_file"
fi
install -m 0755 "$binary" "$bin"

systemd=0
[ -d /run/systemd/system ] && command -v systemctl >/dev/null && systemd=1
if [ -d /etc/systemd/system ]; then
    sed "s#/usr/bin/bridgeos#$bin#g" packaging/bridgeos.service > /etc/systemd/system/bridgeos.service
    chmod 0644 /etc/systemd/system/bridgeos.service
fi

if [ "$systemd" = 1 ] && systemctl --quiet is-active bridgeos; then
    # An upgrade: the new serve backs up and migrates before it says it is ready.
    systemctl daemon-reload
    systemctl restart bridgeos
    echo "install: upgraded and restarted; journalctl -u bridgeos shows the migration and the start"
    exit 0
fi

runuser -u bridgeos -- "$bin" migrate --env-file "$env_file"
# doctor exits 2 for warnings (before tokens are added there are some) and 1 for a failure.
doctor=0
runuser -u bridgeos -- "$bin" doctor --env-file "$env_file" || doctor=$?
[ "$doctor" -ne 1 ] || { echo "install: bridgeos doctor found a problem (above)" >&2; exit 1; }
if [ "$systemd" = 1 ]; then
    systemctl daemon-reload
    systemctl enable bridgeos
    echo "install: systemd unit installed and enabled; after adding bot tokens: systemctl start bridgeos"
fi
echo "install: done. Settings: $env_file (add BRIDGEOS_BOT1_TOKEN…), data: /var/lib/bridgeos, binary: $bin"
