#!/usr/bin/env bash
# Runs on the bake instance (as root, from gateway.pkr.hcl): what the image needs besides the gateway itself, then
# ami/install.sh. No .NET: the gateway is a self-contained publish.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
# curl: the user data's readiness wait; awscli: it reads the Redis secret and signals CloudFormation.
apt-get install -y -qq curl ca-certificates gnupg awscli python3 >/dev/null

# fluent-bit is not in Debian's archive: its own apt repository, key pinned to it.
install -d -m 0755 /usr/share/keyrings
curl -fsSL https://packages.fluentbit.io/fluentbit.key | gpg --dearmor -o /usr/share/keyrings/fluentbit-keyring.gpg
echo "deb [signed-by=/usr/share/keyrings/fluentbit-keyring.gpg] https://packages.fluentbit.io/debian/bookworm bookworm main" \
  > /etc/apt/sources.list.d/fluent-bit.list
apt-get update -qq
apt-get install -y -qq fluent-bit >/dev/null

/tmp/gateway/ami/install.sh --root / --from /tmp/gateway/publish

# The image must not carry the bake's identity or logs.
apt-get clean
rm -rf /tmp/gateway /var/lib/apt/lists/*
journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
