#!/usr/bin/env bash
# Checks a BridgeOS .deb made by packaging/build-deb.sh (CI runs it on the debug build's package):
#   sudo packaging/test-deb.sh .build/deb/bridgeos_<version>_<arch>.deb
#
# 1. Metadata and contents (dpkg-deb --info/--contents): name, version, Depends (libsqlite3-0 >= 3.37, no
#    Swift toolchain), the binary, the unit, the conffile, the docs, the maintainer scripts.
# 2. The unit passes systemd-analyze verify (skipped when systemd-analyze is absent).
# 3. A life cycle in a scratch root (dpkg --root --force-script-chrootless, so the maintainer scripts run with
#    DPKG_ROOT set): install (user, modes, enabled, the binary migrates a new database), upgrade to a higher
#    version (an edited env file and the data survive), remove (data and settings kept), purge (gone).
#    The host's users, groups and systemd configuration are checked to be untouched.
# Stops at the first failure with a message saying what was expected. Needs root (dpkg sets owners).
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
ok() { echo "test-deb: ok    $*"; }
note() { echo "test-deb: note  $*"; }

[ $# -eq 1 ] || { echo "usage: $0 DEB" >&2; exit 64; }
deb=$(readlink -f "$1")
[ -f "$deb" ] || fail "$1 does not exist"
[ "$(id -u)" = 0 ] || fail "run as root (CI does): dpkg must set owners in the scratch root"
for tool in dpkg dpkg-deb setpriv sha256sum stat; do
    command -v "$tool" >/dev/null || fail "$tool is missing"
done
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/bridgeos-test-deb.XXXXXX")
if [ "${BRIDGEOS_TEST_DEB_KEEP:-0}" = 1 ]; then
    trap 'echo "test-deb: kept $work" >&2' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
chmod 0755 "$work"

# --- 1. Metadata ------------------------------------------------------------------------------------------
dpkg-deb --info "$deb" > "$work/info" || fail "dpkg-deb --info cannot read $deb"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = bridgeos ] || fail "Package is '$(field Package)', expected bridgeos"
version=$(field Version)
[ -n "$version" ] || fail "no Version"
arch=$(dpkg --print-architecture)
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)', expected $arch"
for name in Maintainer Installed-Size Section Priority Description; do
    [ -n "$(field "$name")" ] || fail "no $name field"
done
depends=$(field Depends)
sqlite=$(echo "$depends" | tr ',' '\n' | sed -n 's/^ *libsqlite3-0 (>= \([^)]*\)) *$/\1/p')
[ -n "$sqlite" ] || fail "Depends lacks libsqlite3-0 (>= …): $depends"
dpkg --compare-versions "$sqlite" ge 3.37 || fail "Depends asks libsqlite3-0 (>= $sqlite), BridgeOS needs 3.37"
case "$depends" in *swift*|*/opt/*) fail "Depends names the Swift toolchain: $depends" ;; esac
ok "metadata: bridgeos $version $arch; Depends: $depends"

# --- Contents ---------------------------------------------------------------------------------------------
dpkg-deb --contents "$deb" > "$work/contents"
entry() {  # mode, path: the archive holds path with that mode, owned by root
    grep -Eq "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \\./$2\$" "$work/contents" \
        || fail "the package lacks ./$2 with mode $1 root/root; it has: $(grep -F "./$2" "$work/contents" || echo nothing)"
}
entry '-rwxr-xr-x' usr/bin/bridgeos
entry '-rw-r--r--' lib/systemd/system/bridgeos.service
entry 'drwxr-x---' etc/bridgeos/
entry '-rw-------' etc/bridgeos/bridgeos.env
entry '-rw-r--r--' usr/share/doc/bridgeos/README.md
entry '-rw-r--r--' usr/share/doc/bridgeos/copyright
entry '-rw-r--r--' usr/share/doc/bridgeos/changelog.Debian.gz
entry '-rw-r--r--' usr/share/doc/bridgeos/bridgeos.env.example
if grep -v ' root/root ' "$work/contents" | grep -q .; then fail "files not owned by root in the package"; fi
if grep -q '\./var/' "$work/contents"; then fail "the package ships /var (postinst makes /var/lib/bridgeos)"; fi
dpkg-deb --control "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/bridgeos/bridgeos.env ] \
    || fail "conffiles should list /etc/bridgeos/bridgeos.env, it has: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
    [ -x "$work/control/$script" ] || fail "no executable $script"
done
dpkg-deb --extract "$deb" "$work/extract"
gzip -t "$work/extract/usr/share/doc/bridgeos/changelog.Debian.gz" || fail "changelog.Debian.gz is not gzip"
unit="$work/extract/lib/systemd/system/bridgeos.service"
grep -qx 'ExecStart=/usr/bin/bridgeos serve' "$unit" || fail "the unit's ExecStart is not /usr/bin/bridgeos serve"
grep -qx 'EnvironmentFile=/etc/bridgeos/bridgeos.env' "$unit" || fail "the unit does not read /etc/bridgeos/bridgeos.env"
# systemd reads the env file and, unlike BridgeOS's own parser, keeps a trailing comment in the value.
if grep -nE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*=.*[[:space:]]#' "$work/extract/etc/bridgeos/bridgeos.env"; then
    fail "the env file has a trailing # comment on a value line (above): systemd would keep it in the value"
fi
ok "contents: binary, unit, conffile (listed in conffiles), docs, maintainer scripts"

# --- 2. The unit ------------------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
    # Verified as installed, but with ExecStart/ExecStartPre pointing at the package's binary (verify checks
    # that the command exists and is executable) under the unit's own name.
    mkdir -p "$work/unit"
    sed "s#/usr/bin/bridgeos#$work/extract/usr/bin/bridgeos#g" "$unit" > "$work/unit/bridgeos.service"
    if ! systemd-analyze verify "$work/unit/bridgeos.service" > "$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
        cat "$work/verify.log" >&2
        fail "systemd-analyze verify bridgeos.service (above)"
    fi
    exposure=$(systemd-analyze security --offline=yes "$work/unit/bridgeos.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: *//p' || true)
    ok "systemd-analyze verify bridgeos.service${exposure:+ (security exposure: $exposure)}"
else
    note "skipped systemd-analyze verify: systemd-analyze is not installed"
fi

# --- 3. A scratch root ------------------------------------------------------------------------------------
host_state() {
    sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null || true
    { find /etc/systemd/system /lib/systemd/system -maxdepth 2 -name 'bridgeos*' 2>/dev/null || true; } | sort
    ls -d /var/lib/bridgeos /etc/bridgeos 2>/dev/null || true
}
host_state > "$work/host.before"

root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" "$root/var/log" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'root:*:19000:0:99999:7:::' > "$root/etc/shadow"
echo 'root:*::' > "$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"

# The dependencies are not in the scratch root's database: --force-depends.
dpkg_root() {
    local log=$1; shift
    if ! dpkg --root="$root" --force-script-chrootless --force-not-root --force-depends "$@" < /dev/null > "$log" 2>&1; then
        cat "$log" >&2
        fail "dpkg $* (output above)"
    fi
}
status() { dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}' bridgeos 2>/dev/null || echo "not-installed"; }
mode() { stat -c '%a %u %g' "$root$1" 2>/dev/null || echo "missing"; }
passwd_entry() { grep '^bridgeos:' "$root/etc/passwd" || true; }
wants="$root/etc/systemd/system/multi-user.target.wants/bridgeos.service"
data="$root/var/lib/bridgeos"
env_file="$root/etc/bridgeos/bridgeos.env"

# Runs the installed binary as the service's user would (numeric ids: the host has no such user).
as_bridgeos() {
    setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
        env -i PATH=/usr/bin:/bin HOME="$data" BRIDGEOS_BACKUP_DIR="$data/backups" "$@"
}

check_installed() {  # version
    [ "$(status)" = "install ok installed $1" ] || fail "dpkg status is '$(status)', expected install ok installed $1"
    [ "$(passwd_entry | wc -l)" = 1 ] || fail "expected one bridgeos line in the scratch /etc/passwd, found: $(passwd_entry)"
    IFS=: read -r _ _ uid gid _ home shell <<< "$(passwd_entry)"
    [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "bridgeos has uid $uid, not a system user's"
    [ "$(awk -F: '$1 == "bridgeos" { print $3 }' "$root/etc/group")" = "$gid" ] || fail "no bridgeos group with gid $gid"
    [ "$home:$shell" = /var/lib/bridgeos:/usr/sbin/nologin ] || fail "bridgeos has home $home and shell $shell"
    [ "$(mode /var/lib/bridgeos)" = "700 $uid $gid" ] || fail "/var/lib/bridgeos is '$(mode /var/lib/bridgeos)', expected 700 bridgeos:bridgeos"
    [ "$(mode /etc/bridgeos)" = "750 0 $gid" ] || fail "/etc/bridgeos is '$(mode /etc/bridgeos)', expected 750 root:bridgeos"
    [ "$(mode /etc/bridgeos/bridgeos.env)" = "600 $uid $gid" ] \
        || fail "/etc/bridgeos/bridgeos.env is '$(mode /etc/bridgeos/bridgeos.env)', expected 600 bridgeos:bridgeos"
    [ -L "$wants" ] || fail "not enabled: no $wants"
    target=$(readlink "$wants")
    [ "$target" = /lib/systemd/system/bridgeos.service ] && [ -f "$root$target" ] \
        || fail "the multi-user.target.wants link points at '$target', which is not the installed unit"
    [ -x "$root/usr/bin/bridgeos" ] || fail "no /usr/bin/bridgeos"
    installed_version=$(as_bridgeos "$root/usr/bin/bridgeos" --version) || fail "the installed bridgeos --version failed"
}

# Install.
dpkg_root "$work/install.log" --install "$deb"
check_installed "$version"
grep -q 'not started: it needs at least one bot token' "$work/install.log" \
    || { cat "$work/install.log" >&2; fail "postinst printed no next steps for a package without a bot token"; }
ok "installed: user bridgeos ($uid:$gid, system, nologin), modes 700/750/600, enabled, next steps printed"

# postinst's token check (it starts the service on a first installation only with a token): a commented
# token is none, a quoted one counts. Run directly, as dpkg would, against the scratch root.
postinst="$root/var/lib/dpkg/info/bridgeos.postinst"
cp -p "$env_file" "$work/env.saved"
echo '#BRIDGEOS_BOT1_TOKEN=123456:commented' >> "$env_file"
DPKG_ROOT="$root" "$postinst" configure "" > "$work/postinst-none.log" 2>&1 \
    || { cat "$work/postinst-none.log" >&2; fail "postinst configure failed (above)"; }
grep -q 'not started: it needs at least one bot token' "$work/postinst-none.log" || fail "postinst took a commented token for one"
echo 'BRIDGEOS_BOT2_TOKEN="123456:quoted"' >> "$env_file"
DPKG_ROOT="$root" "$postinst" configure "" > "$work/postinst-token.log" 2>&1 \
    || { cat "$work/postinst-token.log" >&2; fail "postinst configure failed (above)"; }
grep -q 'installed and enabled; it starts with systemd' "$work/postinst-token.log" \
    || { cat "$work/postinst-token.log" >&2; fail "postinst did not see the bot token"; }
cp -p "$work/env.saved" "$env_file"
ok "postinst starts the service only with a bot token set (none under DPKG_ROOT: it says how)"

if ! as_bridgeos "$root/usr/bin/bridgeos" migrate --env-file "$env_file" --data-dir "$data" > "$work/migrate.log" 2>&1; then
    cat "$work/migrate.log" >&2
    fail "bridgeos migrate, as bridgeos, with the installed env file (output above)"
fi
[ "$(mode /var/lib/bridgeos/bridgeos.sqlite)" = "600 $uid $gid" ] \
    || fail "after migrate the database is '$(mode /var/lib/bridgeos/bridgeos.sqlite)', expected 600 bridgeos:bridgeos"
doctor=0
as_bridgeos "$root/usr/bin/bridgeos" doctor --env-file "$env_file" --data-dir "$data" > "$work/doctor.log" 2>&1 || doctor=$?
[ "$doctor" = 0 ] || [ "$doctor" = 2 ] || { cat "$work/doctor.log" >&2; fail "bridgeos doctor found a failure (exit $doctor, above)"; }
database_sum=$(sha256sum < "$data/bridgeos.sqlite")
ok "the installed binary runs ($installed_version), migrates a new database (0600 bridgeos) and doctor passes (exit $doctor)"

# Upgrade: the same binary packaged as a higher version, after an admin edited the settings.
grep -qx 'BRIDGEOS_LOG_LEVEL=info' "$env_file" || fail "the installed env file lacks BRIDGEOS_LOG_LEVEL=info to edit"
sed -i 's/^BRIDGEOS_LOG_LEVEL=info$/BRIDGEOS_LOG_LEVEL=notice/' "$env_file"
echo '# edited by test-deb.sh' >> "$env_file"
edited_sum=$(sha256sum < "$env_file")
# As earlier packages left it (root:bridgeos 0640): the upgrade moves it to bridgeos 0600.
chown "0:$gid" "$env_file" && chmod 0640 "$env_file"
upgrade_version="$version+upgradetest"
dpkg --compare-versions "$upgrade_version" gt "$version" || fail "$upgrade_version is not above $version"
# --allow-dynamic: the binary is whatever the package holds (a debug build may link the toolchain; CI's is
# static and then the option changes nothing). Step 1 already checked that package's Depends.
upgrade_deb=$("$here/build-deb.sh" --binary "$work/extract/usr/bin/bridgeos" --allow-dynamic --debug \
    --version "$upgrade_version" --output "$work/upgrade" 2> "$work/build-upgrade.log" | tail -n 1) \
    || { cat "$work/build-upgrade.log" >&2; fail "build-deb.sh could not package the upgrade"; }
dpkg_root "$work/upgrade.log" --install "$upgrade_deb"
check_installed "$upgrade_version"
[ "$(sha256sum < "$env_file")" = "$edited_sum" ] || fail "the upgrade changed the edited /etc/bridgeos/bridgeos.env"
[ "$(sha256sum < "$data/bridgeos.sqlite")" = "$database_sum" ] || fail "the upgrade changed or lost the database"
ok "upgraded to $upgrade_version: the edited env file and the database are as they were, the old 0640 env file now bridgeos 0600"

# Remove: the program goes, data and settings stay.
dpkg_root "$work/remove.log" --remove bridgeos
[ "$(status)" = "deinstall ok config-files $upgrade_version" ] || fail "after --remove dpkg status is '$(status)'"
[ ! -e "$root/usr/bin/bridgeos" ] || fail "--remove left /usr/bin/bridgeos"
[ ! -e "$root/lib/systemd/system/bridgeos.service" ] || fail "--remove left the unit"
[ "$(sha256sum < "$data/bridgeos.sqlite")" = "$database_sum" ] || fail "--remove changed or deleted the database"
[ "$(sha256sum < "$env_file")" = "$edited_sum" ] || fail "--remove changed or deleted the env file"
[ -n "$(passwd_entry)" ] || fail "--remove deleted the bridgeos user"
ok "removed: binary and unit gone; database, env file and user kept"

# Purge: data and settings go too.
dpkg_root "$work/purge.log" --purge bridgeos
case "$(status)" in *not-installed*) ;; *) fail "after --purge dpkg status is '$(status)'" ;; esac
[ ! -e "$data" ] || fail "--purge left /var/lib/bridgeos"
[ ! -e "$root/etc/bridgeos" ] || fail "--purge left /etc/bridgeos"
[ ! -L "$wants" ] || fail "--purge left the multi-user.target.wants link"
ok "purged: /var/lib/bridgeos, /etc/bridgeos and the wants link gone"

host_state > "$work/host.after"
if ! diff -u "$work/host.before" "$work/host.after" >&2; then
    fail "the host's users, groups or systemd units changed (above)"
fi
ok "the host's /etc/passwd, group, shadow, gshadow and systemd units are untouched"
echo "test-deb: all checks passed for $(basename "$deb") in $(( $(date +%s) - started )) s"
