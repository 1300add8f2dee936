#!/bin/sh
# Demo traffic for the compose stack (profile "demo"): successes, failed tasks, polling, balance calls,
# and deliberate rejections (bad key, model not allowed, rate limit, in-flight cap, spend cap) so every
# dashboard panel has something to show. POSIX sh + curl only (runs in the curlimages/curl image).
set -u

GATEWAY_URL="${GATEWAY_URL:-http://gateway:8080}"
ACME="${ACME_GATEWAY_KEY:?ACME_GATEWAY_KEY is not set}"
TINY="${TINY_GATEWAY_KEY:?TINY_GATEWAY_KEY is not set}"

# submit <key> <model> <prompt>: prints the task id, or nothing when the submit was refused.
submit() {
  curl -s -m 30 -X POST "$GATEWAY_URL/api/v1/generateTask/$2" \
    -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
    -d "{\"input\":{\"prompt\":\"$3\"}}" |
    sed -n 's/.*"taskId":"\([^"]*\)".*/\1/p'
}

# status <key> <model> <taskId>: prints the task's state (pending, processing, success, failed) if known.
status() {
  curl -s -m 30 "$GATEWAY_URL/api/v1/statusTask/$2?taskId=$3" -H "Authorization: Bearer $1" |
    sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'
}

balance() {
  curl -s -o /dev/null -m 30 "$GATEWAY_URL/api/v1/apikeys/current-balance" -H "Authorization: Bearer $1"
}

echo "waiting for $GATEWAY_URL"
until curl -sf -o /dev/null "$GATEWAY_URL/healthz"; do sleep 2; done
echo "sending demo traffic to $GATEWAY_URL (Ctrl-C or docker compose stop traffic to end)"

round=0
pending=""
tiny_pending=""
while true; do
  round=$((round + 1))

  # acme: an image task every 2 s, mostly successful; some fail for content, some time out upstream.
  prompt="a lighthouse at dusk, round $round"
  [ $((round % 7)) -eq 0 ] && prompt="sim:violation $prompt"
  [ $((round % 11)) -eq 0 ] && prompt="sim:timeout $prompt"
  model=nano-banana
  [ $((round % 3)) -eq 0 ] && model=flux2
  if [ $((round % 2)) -eq 0 ]; then
    id=$(submit "$ACME" "$model" "$prompt")
    [ -n "$id" ] && pending="$pending $model:$id"
  fi

  # Poll acme's unfinished tasks until they end (a finished task frees its in-flight slot).
  still=""
  for item in $pending; do
    case "$(status "$ACME" "${item%%:*}" "${item#*:}")" in
      success | failed) ;;
      *) still="$still $item" ;;
    esac
  done
  pending="$still"

  # tiny: bursts over its 0.5/s bucket (429 RATE_LIMITED); it polls its tasks only every 20 s, so it runs into
  # its in-flight cap of 3 (429 CONCURRENCY_LIMITED) in between, and into its $1 cap (402 SPEND_CAP_EXCEEDED)
  # after a few minutes.
  if [ $((round % 5)) -eq 0 ]; then
    for _ in 1 2 3 4; do
      id=$(submit "$TINY" nano-banana "a small test, round $round")
      [ -n "$id" ] && tiny_pending="$tiny_pending $id"
    done
  fi
  if [ $((round % 20)) -eq 0 ]; then
    still=""
    for id in $tiny_pending; do
      case "$(status "$TINY" nano-banana "$id")" in
        success | failed) ;;
        *) still="$still $id" ;;
      esac
    done
    tiny_pending="$still"
  fi

  # Refused on purpose: unknown key (401), a model tiny may not use (403), a body without input (400).
  if [ $((round % 10)) -eq 0 ]; then
    submit "agw_unknown" nano-banana "x" >/dev/null
    submit "$TINY" sora-2 "not allowed" >/dev/null
    curl -s -o /dev/null -X POST "$GATEWAY_URL/api/v1/generateTask/nano-banana" \
      -H "Authorization: Bearer $ACME" -H "Content-Type: application/json" -d '{}'
  fi

  [ $((round % 15)) -eq 0 ] && balance "$ACME" && balance "$TINY"
  sleep 1
done
