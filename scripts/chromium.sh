#!/usr/bin/env bash
# Print the path of a headless-capable Chromium, installing Debian's package into .tools/ when none is found.
#
#   scripts/chromium.sh            # reuse $CHROMIUM, a chromium on PATH, or .tools/chromium; else install
#   scripts/chromium.sh --local    # always use (and if needed make) the copy under .tools/chromium
#
# The install needs no root: apt-get (with its lists and cache under .tools/apt/) resolves what chromium
# needs beyond the packages already on the machine, downloads those .debs from the Debian mirror the
# machine is configured with, and dpkg-deb extracts them into .tools/chromium/root. The wrapper
# .tools/chromium/chromium runs the extracted binary with the extracted libraries. Used by the browser
# tests of the handbook and the report (tests/browser.py). Progress goes to stderr; stdout is the path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${REMIT_TOOLS_DIR:-$ROOT/.tools}"
DEST="$TOOLS/chromium"
WRAPPER="$DEST/chromium"
local_only=false
[[ "${1:-}" == "--local" ]] && local_only=true

say() { echo "chromium.sh: $*" >&2; }

works() { "$1" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; }

if ! $local_only; then
    if [[ -n "${CHROMIUM:-}" ]] && works "$CHROMIUM"; then echo "$CHROMIUM"; exit 0; fi
    for name in chromium chromium-headless-shell chromium-browser; do
        if path="$(command -v "$name")" && works "$path"; then echo "$path"; exit 0; fi
    done
fi
if [[ -x "$WRAPPER" ]] && works "$WRAPPER"; then echo "$WRAPPER"; exit 0; fi

command -v apt-get >/dev/null || { say "no chromium and no apt-get: install Debian's chromium package"; exit 1; }
mkdir -p "$TOOLS"
# two test workers may ask at once: one installs, the other waits and reuses
exec 9>"$TOOLS/.chromium.lock"
flock 9
if [[ -x "$WRAPPER" ]] && works "$WRAPPER"; then echo "$WRAPPER"; exit 0; fi

APT_DIR="$TOOLS/apt"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$APT_DIR/debs"
# apt-get as any user: private lists, cache and no lock on the system's; the machine's sources and keys
APT=(apt-get -q -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR" -o "Dir::Cache::archives=$APT_DIR/archives"
     -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
say "reading the Debian package lists into $APT_DIR"
"${APT[@]}" update >&2
# what installing chromium would add to this machine (resolved against the packages installed here)
# (nothing when the system has chromium already: --local then takes the two chromium packages alone)
# plus a font: a machine without any renders pages with no text (chromium only recommends fonts)
mapfile -t pkgs < <("${APT[@]}" -s install --no-install-recommends chromium fonts-dejavu-core | awk '/^Inst /{print $2}')
for name in chromium chromium-common; do
    [[ " ${pkgs[*]} " == *" $name "* ]] || pkgs+=("$name")
done
say "downloading ${#pkgs[@]} packages: ${pkgs[*]}"
(cd "$APT_DIR/debs" && "${APT[@]}" download "${pkgs[@]}" >&2)
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp/root"
for deb in "$APT_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DEST.tmp/root"; done
libs=$(find "$DEST.tmp/root" \( -type f -o -type l \) -name 'lib*.so*' -path '*/lib/*' -printf '%h\n' |
       sed "s|^$DEST.tmp|$DEST|" | sort -u | paste -sd:)
# fontconfig: the machine's fonts and the extracted ones, the machine's rules when it has them
cat > "$DEST.tmp/fonts.conf" <<FONTS
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts</dir>
  <dir>$DEST/root/usr/share/fonts</dir>
  <cachedir>$DEST/fontcache</cachedir>
  <include ignore_missing="yes">/etc/fonts/conf.d</include>
</fontconfig>
FONTS
cat > "$DEST.tmp/chromium" <<WRAP
#!/usr/bin/env bash
# Debian's chromium extracted by scripts/chromium.sh, run with its extracted libraries and fonts.
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export FONTCONFIG_FILE="\${FONTCONFIG_FILE:-$DEST/fonts.conf}"
exec "$DEST/root/usr/lib/chromium/chromium" "\$@"
WRAP
chmod +x "$DEST.tmp/chromium"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
rm -rf "$APT_DIR/debs"
works "$WRAPPER" || { say "the extracted chromium does not start: $WRAPPER"; exit 1; }
say "installed into $DEST"
echo "$WRAPPER"
