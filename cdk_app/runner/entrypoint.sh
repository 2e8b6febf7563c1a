#!/bin/sh
# wdl2sfn runner image entrypoint: one image for the Lambda run-time steps and Batch runner jobs.
#  - Lambda passes the handler as the command (CMD wdl2sfn.task_runner.lambda_entry.handler):
#    run it under the AWS Lambda Runtime Interface Client.
#  - Batch passes a command line (python -m wdl2sfn.task_runner <step> ...): run it as is.
set -e
if [ "$#" -eq 0 ]; then
  set -- wdl2sfn.task_runner.lambda_entry.handler
fi
case "$1" in
  *.*.*handler|*.handler)
    if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ] && command -v aws-lambda-rie >/dev/null 2>&1; then
      exec aws-lambda-rie python -m awslambdaric "$@"
    fi
    exec python -m awslambdaric "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
