#!/bin/sh
# Writes the credentials docker-compose.yml reads to .env at the repository's root (or to the
# file given as the only argument), one random value each: the NATS users' passwords and the
# endpoints' secrets. Run it once before the first `docker compose up`:
#
#   scripts/compose-env.sh && docker compose up --build
#
# It never changes a value already in the file: an existing .env keeps its values, and only the
# keys it lacks are added (after an upgrade that needs a new one). The file is readable by you
# alone; keep it out of version control (.gitignore lists it). For real providers, replace the
# endpoint secrets with the ones each provider gives you.
set -eu

out=${1:-"$(dirname "$0")/../.env"}

# Every variable docker-compose.yml references, in the order they are written.
keys="NATS_ADMIN_PASSWORD NATS_BRIDGE_PASSWORD NATS_CONSUMER_PASSWORD NATS_RESPONDER_PASSWORD
NATS_LEAF_PASSWORD AGHANIM_SECRET ALTDENTIFIER_SECRET ZIGNSEC_SECRET CENTREPOINT_HMAC_SECRET
CP_USER CP_PASSWORD CP_TOKEN USERCHECK_SECRET"

# 32 random bytes in hex: safe in URLs (the examples take nats://user:password@host) and never
# read as a number by nats-server.
random() {
	if command -v openssl >/dev/null 2>&1; then
		openssl rand -hex 32
	else
		od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
		echo
	fi
}

umask 077
[ -e "$out" ] || : >"$out"
# A last line without its newline would run into the first one added.
if [ -s "$out" ] && [ -n "$(tail -c 1 "$out")" ]; then echo >>"$out"; fi
added=""
for key in $keys; do
	if grep -q "^$key=" "$out"; then
		continue
	fi
	case $key in
	CP_USER) value=centrepoint ;; # CentrePoint's Basic username: no secret
	*) value=$(random) ;;
	esac
	[ -n "$value" ] || { echo "compose-env.sh: no random value for $key" >&2; exit 1; }
	printf '%s=%s\n' "$key" "$value" >>"$out"
	added="$added $key"
done

if [ -n "$added" ]; then
	echo "compose-env.sh: wrote$added to $out"
else
	echo "compose-env.sh: $out already has every variable; nothing changed"
fi
