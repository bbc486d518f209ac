#!/bin/sh
# The rotation as a runbook of four AWS CLI calls: look at both keys, move the alias, read it back.
# Usage: aws-runbook.sh ALIAS_NAME TARGET_KEY_ID ENDPOINT_URL
set -eu
alias_name=$1
target_key_id=$2
endpoint_url=$3

aws kms describe-key --key-id "$alias_name" --endpoint-url "$endpoint_url" >/dev/null
aws kms describe-key --key-id "$target_key_id" --endpoint-url "$endpoint_url" >/dev/null
aws kms update-alias --alias-name "$alias_name" --target-key-id "$target_key_id" --endpoint-url "$endpoint_url"
seen=$(aws kms list-aliases --endpoint-url "$endpoint_url" --output text \
  --query "Aliases[?AliasName=='$alias_name'].TargetKeyId")
[ "$seen" = "$target_key_id" ] || { echo "$alias_name shows $seen, not $target_key_id" >&2; exit 1; }
