# wdl2sfn runner image: the task_runner steps as AWS Lambda functions (EFS variant) and as AWS
# Batch runner jobs (upload; with FSx for Lustre every run-time step). Built by the CDK app as a
# Docker image asset from the repository root (cdk_app/wdl2sfn_cdk/stack.py).
#   Lambda: CMD ["wdl2sfn.task_runner.lambda_entry.handler"]
#   Batch:  python -m wdl2sfn.task_runner <step> ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/wdl2sfn
COPY . /opt/wdl2sfn/src
RUN pip install /opt/wdl2sfn/src awslambdaric \
    && install -m 0755 /opt/wdl2sfn/src/cdk_app/runner/entrypoint.sh /usr/local/bin/wdl2sfn-entrypoint \
    && rm -rf /opt/wdl2sfn/src

ENTRYPOINT ["/usr/local/bin/wdl2sfn-entrypoint"]
CMD ["wdl2sfn.task_runner.lambda_entry.handler"]
