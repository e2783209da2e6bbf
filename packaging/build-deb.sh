#!/usr/bin/env bash
# Builds a Debian package of BridgeOS (Debian 12 / Ubuntu 22.04 or newer) and prints its path.
#
#   packaging/build-deb.sh                      # release build (static Swift runtime), stripped, xz
#   packaging/build-deb.sh --debug              # debug build, not stripped, fast gzip (what CI checks)
#   packaging/build-deb.sh --binary PATH        # package a binary built already (no build)
#   packaging/build-deb.sh --binary .build/debug/bridgeos --allow-dynamic   # local testing only
#
# Options: --version V (default: the binary's --version), --output DIR (default: the repository's .build/deb).
# Maintainer: DEBFULLNAME and DEBEMAIL, as for other Debian tools.
#
# The package holds /usr/bin/bridgeos, the systemd unit, /etc/bridgeos/bridgeos.env (a conffile: dpkg never
# overwrites a changed one), the docs, and the maintainer scripts from packaging/debian/. Its Depends come
# from the libraries the binary links (dpkg-shlibdeps), with libsqlite3-0 (>= 3.37) at least. The Swift
# toolchain's own libraries (/opt/swift) are in no package: a binary that needs them was not built with
# --static-swift-stdlib and would not run where the toolchain is absent, so it is refused unless
# --allow-dynamic says this package is only for a machine that has the toolchain.
set -euo pipefail
umask 022
repository=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }
die() { echo "build-deb: $*" >&2; exit 1; }
log() { echo "build-deb: $*" >&2; }

configuration=release
binary=""
allow_dynamic=0
version=""
output=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) configuration=debug ;;
        --release) configuration=release ;;
        --binary) [ $# -ge 2 ] || usage; binary=$2; shift ;;
        --allow-dynamic) allow_dynamic=1 ;;
        --version) [ $# -ge 2 ] || usage; version=$2; shift ;;
        --output) [ $# -ge 2 ] || usage; output=$2; shift ;;
        -h|--help) usage ;;
        *) echo "build-deb: unknown option $1" >&2; usage ;;
    esac
    shift
done
[ "$allow_dynamic" = 0 ] || [ -n "$binary" ] || die "--allow-dynamic goes with --binary (a build here is always static)"
# Paths given are the caller's; the default output is the repository's .build/deb.
if [ -n "$binary" ]; then binary=$(readlink -f "$binary"); fi
case "$output" in "") output="$repository/.build/deb" ;; /*) ;; *) output="$PWD/$output" ;; esac
cd "$repository"

for tool in dpkg dpkg-deb readelf; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install dpkg-dev binutils"
done
arch=$(dpkg --print-architecture)

# The toolchain: /opt/swift on these machines.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

if [ -z "$binary" ]; then
    command -v swift >/dev/null || die "swift is not on PATH (or in /opt/swift/usr/bin); use --binary PATH to package a built binary"
    # A build directory of its own: linking objects an ordinary (dynamic) build left in .build with the static
    # runtime can miss Foundation's own libraries (seen in CI: undefined CoreFoundation and ICU symbols).
    # The dependencies' checkouts come from SwiftPM's cache.
    scratch=".build/deb-build"
    log "swift build -c $configuration --product bridgeos --static-swift-stdlib --scratch-path $scratch"
    swift build -c "$configuration" --product bridgeos --static-swift-stdlib --scratch-path "$scratch" >&2
    binary="$(swift build -c "$configuration" --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/bridgeos"
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "$binary is not an executable file"

# The binary must be for this architecture (the package's Architecture comes from dpkg).
machine=$(readelf -h "$binary" 2>/dev/null | sed -n 's/^ *Machine: *//p')
case "$arch:$machine" in
    amd64:*X86-64*|arm64:*AArch64*) ;;
    amd64:*|arm64:*) die "$binary is for '$machine', not $arch" ;;
    *) log "warning: cannot check that '$machine' suits $arch" ;;
esac

if [ -z "$version" ]; then
    version=$("$binary" --version 2>/dev/null | head -n 1 | awk '{ print $1 }') \
        || die "$binary --version failed; give --version"
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "'$version' is not a Debian version (give --version)"

# --- Shared libraries -------------------------------------------------------------------------------------
# The Swift toolchain's libraries: in no Debian package, and absent where the toolchain is not installed.
swift_root=""
if command -v swift >/dev/null 2>&1; then
    swift_root=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
fi
is_toolchain_library() {  # soname, resolved path (may be empty)
    case "$1" in
        libswift*|libFoundation*|lib_Foundation*|libdispatch.so*|libBlocksRuntime.so*|libXCTest.so*|libTesting.so*|lib_Testing*)
            return 0 ;;
    esac
    case "$2" in
        /opt/swift/*) return 0 ;;
        "") return 1 ;;
    esac
    [ -n "$swift_root" ] && [[ "$2" == "$swift_root"/* ]]
}

mapfile -t needed < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ "${#needed[@]}" -gt 0 ] || die "$binary links no shared libraries: is it a static-executable build? (libsqlite3 must be the system's)"
declare -A resolved=()
while read -r soname _ path _; do
    [ -n "$soname" ] && resolved[$soname]=$path
done < <(ldd "$binary" 2>/dev/null | awk '$2 == "=>" { print $1, $2, $3 }')

toolchain=()
for soname in "${needed[@]}"; do
    if is_toolchain_library "$soname" "${resolved[$soname]:-}"; then toolchain+=("$soname"); fi
done
if [ "${#toolchain[@]}" -gt 0 ]; then
    if [ "$allow_dynamic" = 1 ]; then
        log "warning: $binary links the Swift toolchain's own libraries (${toolchain[*]}): this package runs"
        log "warning: only where the same toolchain is installed at the same path. Never ship it."
    else
        echo "build-deb: $binary links the Swift toolchain's own libraries:" >&2
        printf '  %s\n' "${toolchain[@]}" >&2
        echo "build-deb: it was not built with --static-swift-stdlib, so it would not run on a server without the" >&2
        echo "build-deb: toolchain. Build it with: swift build -c release --product bridgeos --static-swift-stdlib" >&2
        echo "build-deb: (or, to try the package on this machine only: --binary PATH --allow-dynamic)" >&2
        exit 1
    fi
fi
if readelf -d "$binary" | grep -E '\((RUNPATH|RPATH)\)' | grep -q '/opt/swift'; then
    [ "${#toolchain[@]}" -gt 0 ] || log "warning: $binary's RUNPATH names /opt/swift (harmless: it needs nothing there)"
fi

# --- Staging ----------------------------------------------------------------------------------------------
mkdir -p "$output"
stage=$(mktemp -d "$output/.stage.XXXXXX")
work=$(mktemp -d)
trap 'rm -rf "$stage" "$work"' EXIT
chmod 0755 "$stage"

install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/usr/share/doc/bridgeos"
if [ "$configuration" = release ]; then
    strip --strip-unneeded --remove-section=.comment -o "$stage/usr/bin/bridgeos" "$binary"
else
    cp "$binary" "$stage/usr/bin/bridgeos"
fi
chmod 0755 "$stage/usr/bin/bridgeos"
install -m 0644 packaging/bridgeos.service "$stage/lib/systemd/system/bridgeos.service"
# The settings hold tokens: 0750 and 0600 from the start (postinst gives them to the bridgeos user).
install -d -m 0750 "$stage/etc/bridgeos"
install -m 0600 packaging/bridgeos.env.example "$stage/etc/bridgeos/bridgeos.env"
install -m 0644 README.md "$stage/usr/share/doc/bridgeos/README.md"
install -m 0644 packaging/bridgeos.env.example "$stage/usr/share/doc/bridgeos/bridgeos.env.example"
install -m 0644 packaging/debian/copyright "$stage/usr/share/doc/bridgeos/copyright"
for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
echo /etc/bridgeos/bridgeos.env > "$stage/DEBIAN/conffiles"

# Reproducible times: the commit's (dpkg-deb clamps to SOURCE_DATE_EPOCH too).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
    export SOURCE_DATE_EPOCH
fi
maintainer="${DEBFULLNAME:-BridgeOS maintainers} <${DEBEMAIL:-bridgeos@localhost}>"
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty=" with uncommitted changes"
{
    echo "bridgeos ($version) stable; urgency=medium"
    echo
    echo "  * Built by packaging/build-deb.sh ($configuration) from git commit $commit$dirty."
    echo
    echo " -- $maintainer  $(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$stage/usr/share/doc/bridgeos/changelog.Debian.gz"
chmod 0644 "$stage/usr/share/doc/bridgeos/changelog.Debian.gz"

# --- Depends ----------------------------------------------------------------------------------------------
# dpkg-shlibdeps knows each library's package and the oldest version with the symbols the binary uses.
depends=""
mkdir -p "$work/debian"
printf 'Source: bridgeos\n\nPackage: bridgeos\nArchitecture: any\n' > "$work/debian/control"
if command -v dpkg-shlibdeps >/dev/null \
    && (cd "$work" && dpkg-shlibdeps -O --ignore-missing-info "$stage/usr/bin/bridgeos") >"$work/shlibdeps" 2>"$work/shlibdeps.log"; then
    depends=$(sed -n 's/^shlibs:Depends=//p' "$work/shlibdeps")
else
    # Fallback: the package holding each library, at least the version installed here.
    log "dpkg-shlibdeps unavailable or failed ($(tail -n 1 "$work/shlibdeps.log" 2>/dev/null)); using dpkg -S"
    for soname in "${needed[@]}"; do
        is_toolchain_library "$soname" "${resolved[$soname]:-}" && continue
        path=${resolved[$soname]:-}
        [ -n "$path" ] || { [[ "$soname" == ld-linux* ]] && continue; die "cannot find $soname (needed by $binary)"; }
        package=""
        for candidate in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr${path#/usr}"; do
            package=$(dpkg -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$package" ] && break
        done
        [ -n "$package" ] || die "no package holds $path (needed by $binary)"
        installed=$(dpkg-query -W -f='${Version}' "$package")
        depends="${depends:+$depends, }$package (>= ${installed%-*})"
    done
fi
# libsqlite3-0 (>= 3.37) at least: BridgeOS needs STRICT tables and RETURNING.
entries=()
sqlite="libsqlite3-0 (>= 3.37)"
sqlite_entry='^libsqlite3-0( \(>= ([^)]+)\))?$'
IFS=',' read -r -a parts <<< "$depends"
for part in "${parts[@]}"; do
    part=$(echo "$part" | sed 's/^ *//; s/ *$//')
    [ -n "$part" ] || continue
    if [[ "$part" =~ $sqlite_entry ]]; then
        found=${BASH_REMATCH[2]:-0}
        if dpkg --compare-versions "$found" gt 3.37; then sqlite="libsqlite3-0 (>= $found)"; fi
        continue
    fi
    # Never a dependency on the toolchain (belt and braces: no package provides it anyway).
    [[ "$part" == *swift* ]] && die "unexpected dependency on the Swift toolchain: $part"
    entries+=("$part")
done
# useradd/groupadd (postinst) come from passwd: Priority required, but not Essential. ca-certificates: the
# trust store every HTTPS call (Telegram, the translators) checks against, which dpkg-shlibdeps cannot see.
depends="$sqlite"
for part in "${entries[@]}" "passwd" "ca-certificates"; do depends="$depends, $part"; done
depends=$(echo "$depends" | tr ',' '\n' | sed 's/^ *//' | awk '!seen[$1]++' | paste -sd, - | sed 's/,/, /g')

# --- Control ----------------------------------------------------------------------------------------------
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: bridgeos
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Suggests: nginx | caddy, sqlite3
Section: net
Priority: optional
Description: Telegram translation appliance for a manager and five workers
 BridgeOS lets a manager talk to up to five workers who speak other
 languages, each through their own Telegram bot. Every message is
 translated with the conversation's context; tasks, a daily summary,
 usage limits, subscriptions, feedback and an admin dashboard come with it.
 .
 One self-hosted binary runs all five bot slots against a local SQLite
 database, as the systemd service bridgeos.service. Settings and bot
 tokens: /etc/bridgeos/bridgeos.env; data and backups: /var/lib/bridgeos.
EOF
(cd "$stage" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

if [ "$configuration" = release ]; then compression=(-Zxz); else compression=(-Zgzip -z1); fi
deb="$output/bridgeos_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compression[@]}" --build "$stage" "$deb" >&2
log "Depends: $depends"
echo "$deb"
