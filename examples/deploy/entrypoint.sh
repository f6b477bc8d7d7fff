#!/bin/sh
# Container entrypoint: the models must pass the gate before the service starts. Everything the
# gate trusts comes from mounted config (lockfile, public keys), never from the image or the volume.
#
#   MODELGUARD_LOCKFILE      lockfile path            (default /config/models.lock.json)
#   MODELGUARD_TRUSTED_KEYS  comma-separated .pub paths (default /config/cosign.pub)
#   MODELGUARD_PULL=1        download what the cache lacks first (needs the Hub; skip when offline)
#   HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN as huggingface_hub reads them
set -eu

lockfile="${MODELGUARD_LOCKFILE:-/config/models.lock.json}"
keys="${MODELGUARD_TRUSTED_KEYS:-/config/cosign.pub}"

key_flags=""
old_ifs="$IFS"
IFS=","
for key in $keys; do key_flags="$key_flags --key $key"; done
IFS="$old_ifs"

if [ "${MODELGUARD_PULL:-0}" = "1" ]; then
  modelguard --lockfile "$lockfile" --quiet pull
fi
# shellcheck disable=SC2086 # key_flags is a list of words on purpose
modelguard --lockfile "$lockfile" verify $key_flags
# The service command runs only when the gate passed.
exec "$@"
