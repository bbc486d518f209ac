#!/bin/sh
# The rotation as a runbook of four AWS CLI calls: look at both keys, move the alias, read it back.
# Usage: aws-runbook.sh AWS_CLI ALIAS_NAME TARGET_KEY_ID ENDPOINT_URL
# AWS_CLI is the aws program to run, so that v1 and v2 can be timed side by side.
set -eu
aws=$1
alias_name=$2
target_key_id=$3
endpoint_url=$4

"$aws" kms describe-key --key-id "$alias_name" --endpoint-url "$endpoint_url" >/dev/null
"$aws" kms describe-key --key-id "$target_key_id" --endpoint-url "$endpoint_url" >/dev/null
"$aws" kms update-alias --alias-name "$alias_name" --target-key-id "$target_key_id" --endpoint-url "$endpoint_url"
seen=$("$aws" kms list-aliases --endpoint-url "$endpoint_url" --output text \
  --query "Aliases[?AliasName=='$alias_name'].TargetKeyId")
[ "$seen" = "$target_key_id" ] || { echo "$alias_name shows $seen, not $target_key_id" >&2; exit 1; }
