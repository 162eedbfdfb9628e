#!/usr/bin/env bash
# Checks that a real delivery verifies with third-party code: Stripe's Python library
# (`stripe.WebhookSignature.verify_header`) and a hand-written Stripe-style Node.js verifier
# for X-Tonearm-Signature, the Standard Webhooks Python library for the webhook-* headers.
#
#   scripts/webhook-compat.sh
#
# Needs Python 3 with `stripe` and `standardwebhooks` (pip install stripe standardwebhooks;
# PYTHON names the interpreter) and Node.js. Builds the debug binary unless TONEARM_BIN is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=${PYTHON:-python3}
. scripts/lib/fresh-server.sh

account=$(api POST /admin/v1/accounts '{"name": "webhook compat"}' | field '["id"]')
created=$(api POST /admin/v1/keys "{\"account_id\": \"$account\", \"label\": \"compat\", \"webhook_secret\": true}")
key=$(field '["key"]' <<<"$created")
secret=$(field '["webhook_secret"]["secret"]' <<<"$created")

URL=$url KEY=$key SECRET=$secret "$py" scripts/webhook-compat/check.py
