#!/bin/bash
# HEALTHCHECK of the orchestrator image: GET /health on this node's first DRW_URLS address must answer 200.
# bash's /dev/tcp, so the image needs no curl; an address on every interface (0.0.0.0, [::], +, *) is asked on
# 127.0.0.1.
url=${DRW_URLS%%;*}
hostport=${url#*://}
hostport=${hostport%%/*}
port=${hostport##*:}
host=${hostport%:*}
case $host in 0.0.0.0 | "[::]" | "+" | "*" | "") host=127.0.0.1 ;; esac
host=${host#[}
host=${host%]}
exec 3<> "/dev/tcp/$host/$port" || exit 1
printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" >&3
IFS= read -r -t 4 status <&3 || exit 1
[[ $status == "HTTP/1."[01]" 200"* ]]
