#!/bin/bash
# A conformance engine for ../shared/conformance/run_conformance.py that runs each example on the
# AWS backend: `wdl2sfn run --backend aws --wait` against the account the environment points at
# (e.g. `wdl2sfn rehearse --serve`), then `wdl2sfn outputs RUN --get DIR` so File outputs are
# local files the runner can compare. Usage: --engine 'bench/conformance_aws.sh {wdl} {inputs} {dir}'
# (absolute test paths; docs/conformance.md "On the AWS backend").
set -u
wdl2sfn=${WDL2SFN:-wdl2sfn}
out=$("$wdl2sfn" run "$1" -i "$2" --backend aws --wait 2>>"$3.stderr") || { echo "$out"; exit 1; }
run=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dir"].rstrip("/").rsplit("/",1)[-1])')
"$wdl2sfn" outputs "$run" --backend aws --get "$3" 2>>"$3.stderr"
