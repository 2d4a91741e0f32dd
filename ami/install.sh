#!/usr/bin/env bash
# Installs the gateway into a root file system: the machine image (Packer runs it with --root /) or a staging folder
# (the tests run it with --root <tmp>, and start what it installed).
#
#   ami/install.sh --root DIR --from PUBLISH_DIR
#
# PUBLISH_DIR is a `dotnet publish` of src/Gateway: self-contained for the image (ami/build), framework-dependent is
# enough for a staging test on a machine with .NET. What it installs, all under DIR:
#   /opt/gateway/                      the publish output (apphost Gateway), owned by root
#   /opt/gateway/appsettings.json   -> ../../etc/gateway/appsettings.json (relative: right under any root)
#   /etc/gateway/appsettings.json      what every region shares (ami/config/appsettings.json)
#   /etc/gateway/gateway.env.example   per-region values; user data writes gateway.env from it at boot
#   /etc/gateway/logs.env.example      log shipping; user data writes logs.env at boot
#   /etc/systemd/system/gateway.service, enabled; it starts once gateway.env exists (ConditionPathExists)
#   /etc/sysctl.d/90-gateway.conf
#   /etc/fluent-bit/gateway/           fluent-bit pipeline, parsers, outputs (ami/fluent-bit)
#   /etc/systemd/system/fluent-bit.service.d/gateway.conf
#   the system user and group "gateway" (when DIR/etc/passwd exists: a real or chroot-able root)
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

root="" from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a folder}"; shift 2 ;;
    --from) from="${2:?--from needs a folder}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$root" ] && [ -n "$from" ] || usage
[ -x "$from/Gateway" ] && [ -f "$from/Gateway.dll" ] || { echo "install.sh: $from is not a publish of src/Gateway (no Gateway, Gateway.dll)" >&2; exit 66; }
mkdir -p "$root"
root="$(cd "$root" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
r() { printf '%s%s' "${root%/}" "$1"; }

# The system user first, so that ownership below can name it. A staging folder without etc/passwd gets none.
have_user=false
if [ -f "$(r /etc/passwd)" ]; then
  if ! grep -q '^gateway:' "$(r /etc/passwd)"; then
    # (nologin may be missing from a staging root: useradd warns, the account is still right.)
    useradd --root "$root" --system --user-group --home-dir /opt/gateway --no-create-home --shell /usr/sbin/nologin gateway
  fi
  have_user=true
fi

install -d -m 0755 "$(r /opt)" "$(r /etc/systemd/system)" "$(r /etc/sysctl.d)" "$(r /etc/fluent-bit/gateway)" \
  "$(r /etc/systemd/system/fluent-bit.service.d)"
# The application: replaced whole, so no file of an older publish stays behind.
rm -rf "$(r /opt/gateway)"
install -d -m 0755 "$(r /opt/gateway)"
cp -a "$from/." "$(r /opt/gateway)/"
chmod -R u=rwX,go=rX "$(r /opt/gateway)"
install -m 0644 "$here/README.md" "$(r /opt/gateway/README.md)"

# Configuration under /etc/gateway; the gateway reads appsettings.json beside its binary, so that one is a link.
install -d -m 0750 "$(r /etc/gateway)"
install -m 0640 "$here/config/appsettings.json" "$(r /etc/gateway/appsettings.json)"
install -m 0640 "$here/config/gateway.env" "$(r /etc/gateway/gateway.env.example)"
install -m 0640 "$here/config/logs.env" "$(r /etc/gateway/logs.env.example)"
ln -sfn ../../etc/gateway/appsettings.json "$(r /opt/gateway/appsettings.json)"
if $have_user; then
  # By number, from the root's own group file (a staging root's groups are not the host's).
  chgrp -R "$(awk -F: '$1=="gateway"{print $3}' "$(r /etc/group)")" "$(r /etc/gateway)"
fi

install -m 0644 "$here/systemd/gateway.service" "$(r /etc/systemd/system/gateway.service)"
install -m 0644 "$here/sysctl/90-gateway.conf" "$(r /etc/sysctl.d/90-gateway.conf)"
for f in "$here"/fluent-bit/*.conf; do
  case "$(basename "$f")" in
    gateway.conf) install -m 0644 "$f" "$(r /etc/systemd/system/fluent-bit.service.d/gateway.conf)" ;;
    *) install -m 0644 "$f" "$(r /etc/fluent-bit/gateway/)" ;;
  esac
done

# Enabled offline (symlinks under DIR only): systemctl --root needs no running systemd.
systemctl --root="$root" enable gateway.service >/dev/null 2>&1 ||
  ln -sfn /etc/systemd/system/gateway.service "$(install -d "$(r /etc/systemd/system/multi-user.target.wants)" && r /etc/systemd/system/multi-user.target.wants/gateway.service)"
if [ -f "$(r /lib/systemd/system/fluent-bit.service)" ] || [ -f "$(r /usr/lib/systemd/system/fluent-bit.service)" ]; then
  systemctl --root="$root" enable fluent-bit.service >/dev/null
fi

echo "installed the gateway under $root (user: $($have_user && echo gateway || echo 'none: no etc/passwd under the root'))"
