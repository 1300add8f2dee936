#!/bin/sh
# Writes a .env for docker compose: .env.example with fresh demo tenant keys (random, never committed).
#   ./deploy/make-env.sh > .env
# The gateway config gets only the keys' sha256 hashes; the demo traffic generator gets the keys themselves.
set -eu
cd "$(dirname "$0")/.."

newkey() {
  # agw_ + 43 base64url characters: 256 random bits, the shape `apixo-gateway keys create` makes.
  printf 'agw_%s' "$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')"
}
hashof() {
  printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"
}

acme=$(newkey)
tiny=$(newkey)
sed -e "s|^ACME_KEY_HASH=.*|ACME_KEY_HASH=$(hashof "$acme")|" \
    -e "s|^TINY_KEY_HASH=.*|TINY_KEY_HASH=$(hashof "$tiny")|" \
    -e "s|^ACME_GATEWAY_KEY=.*|ACME_GATEWAY_KEY=$acme|" \
    -e "s|^TINY_GATEWAY_KEY=.*|TINY_GATEWAY_KEY=$tiny|" \
    .env.example
