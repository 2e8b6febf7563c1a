"""The synthesized CloudFormation of each variant, checked with aws_cdk.assertions."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Match
from wdl2sfn_cdk.config import FUNCTION_PLACEHOLDERS

from wdl2sfn.contract import PLACEHOLDERS

from .conftest import Synth


def _statements(synth: Synth, logical_prefix: str) -> list[dict[str, Any]]:
    out = []
    for key, res in synth.resources("AWS::IAM::Policy").items():
        if key.startswith(logical_prefix):
            out.extend(res["Properties"]["PolicyDocument"]["Statement"])
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def _resources(statement: dict[str, Any]) -> list[Any]:
    res = statement["Resource"]
    return res if isinstance(res, list) else [res]


def _state_machine_statements(synth: Synth) -> list[dict[str, Any]]:
    return _statements(synth, "WorkflowHelloStateMachinePolicy")


def _user_data(synth: Synth, logical_prefix: str) -> str:
    (lt,) = [
        v
        for k, v in synth.resources("AWS::EC2::LaunchTemplate").items()
        if k.startswith(logical_prefix)
    ]
    return json.dumps(lt["Properties"]["LaunchTemplateData"]["UserData"])


def _compute_environment(synth: Synth, logical_prefix: str) -> dict[str, Any]:
    (ce,) = [
        v["Properties"]
        for k, v in synth.resources("AWS::Batch::ComputeEnvironment").items()
        if k.startswith(logical_prefix)
    ]
    return ce


# ------------------------------------------------------------------- outputs, placeholders
def test_efs_variant_outputs_every_placeholder_by_name(efs_variant: Synth) -> None:
    assert set(PLACEHOLDERS) <= set(efs_variant.template["Outputs"])


def test_fsx_variant_outputs_placeholders_except_function_arns(fsx: Synth) -> None:
    outputs = set(fsx.template["Outputs"])
    assert set(PLACEHOLDERS) - set(FUNCTION_PLACEHOLDERS.values()) <= outputs
    assert not outputs & set(FUNCTION_PLACEHOLDERS.values())


def test_state_machine_substitutes_every_placeholder_in_its_definition(any_variant: Synth) -> None:
    (sm,) = _workflow_machines(any_variant)
    definition = json.dumps(sm["Properties"]["DefinitionString"])
    used = set(re.findall(r"\$\{(\w+)\}", definition))
    assert used, "the definition names resources through placeholders"
    assert used == set(sm["Properties"]["DefinitionSubstitutions"])


def _workflow_machines(synth: Synth) -> list[dict]:
    """The workflow's machines (FSx adds the Express machine answering failed wait jobs; every
    stack has its call and finish machines, calls.py)."""
    machines = synth.resources("AWS::StepFunctions::StateMachine").values()
    return [
        m
        for m in machines
        if m["Properties"].get("StateMachineType") != "EXPRESS"
        and "-wdl2sfn-" not in m["Properties"]["StateMachineName"]
    ]


def test_state_machine_is_standard_and_named_for_workflow(any_variant: Synth) -> None:
    any_variant.assertions.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"StateMachineType": "STANDARD", "StateMachineName": "wdl2sfn-hello"},
    )


# -------------------------------------------------------------------------------- batch
def test_each_queue_has_its_own_compute_environment(any_variant: Synth) -> None:
    queues = any_variant.resources("AWS::Batch::JobQueue")
    envs = any_variant.resources("AWS::Batch::ComputeEnvironment")
    assert len(queues) == 4 and len(envs) == 4
    used = {
        o["ComputeEnvironment"]["Fn::GetAtt"][0]
        for q in queues.values()
        for o in q["Properties"]["ComputeEnvironmentOrder"]
    }
    assert used == set(envs)


def test_cpu_environment_is_on_demand_ec2_on_al2023(any_variant: Synth) -> None:
    ce = _compute_environment(any_variant, "CpuEnvironment")["ComputeResources"]
    assert ce["Type"] == "EC2"
    assert ce["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]
    assert ce["MinvCpus"] == 0


def test_spot_environment_uses_spot_capacity_optimized(any_variant: Synth) -> None:
    ce = _compute_environment(any_variant, "SpotEnvironment")["ComputeResources"]
    assert ce["Type"] == "SPOT"
    assert ce["AllocationStrategy"] == "SPOT_CAPACITY_OPTIMIZED"


def test_gpu_environment_uses_ecs_gpu_ami_and_gpu_families(any_variant: Synth) -> None:
    ce = _compute_environment(any_variant, "GpuEnvironment")["ComputeResources"]
    assert ce["Ec2Configuration"] == [{"ImageType": "ECS_AL2023_NVIDIA"}]
    assert set(ce["InstanceTypes"]) == {"g4dn", "g5", "g6"}


def test_efs_runner_environment_is_fargate(efs_variant: Synth) -> None:
    ce = _compute_environment(efs_variant, "RunnerEnvironment")["ComputeResources"]
    assert ce["Type"] == "FARGATE"


def test_fsx_runner_environment_is_ec2_mounting_fsx(fsx: Synth) -> None:
    ce = _compute_environment(fsx, "RunnerEnvironment")["ComputeResources"]
    assert ce["Type"] == "EC2"
    assert ce["LaunchTemplate"]["LaunchTemplateId"]["Ref"].startswith("ComputeLaunchTemplate")


def test_max_vcpus_come_from_context(any_variant: Synth) -> None:
    ce = _compute_environment(any_variant, "CpuEnvironment")["ComputeResources"]
    assert ce["MaxvCpus"] == any_variant.stack.config.max_vcpus


def test_runner_job_definition_uses_runner_image_and_wdl2sfn_name(any_variant: Synth) -> None:
    (jd,) = any_variant.resources("AWS::Batch::JobDefinition").values()
    props = jd["Properties"]
    assert props["JobDefinitionName"].startswith("wdl2sfn-")
    image = json.dumps(props["ContainerProperties"]["Image"])
    assert "container-assets" in image


def test_fargate_runner_mounts_efs_access_point_at_mnt_efs(efs_variant: Synth) -> None:
    (jd,) = efs_variant.resources("AWS::Batch::JobDefinition").values()
    container = jd["Properties"]["ContainerProperties"]
    (volume,) = container["Volumes"]
    assert volume["EfsVolumeConfiguration"]["TransitEncryption"] == "ENABLED"
    assert "AccessPointId" in volume["EfsVolumeConfiguration"]["AuthorizationConfig"]
    assert container["MountPoints"][0]["ContainerPath"] == "/mnt/efs"


def test_fsx_runner_binds_host_mount_at_mnt_net(fsx: Synth) -> None:
    (jd,) = fsx.resources("AWS::Batch::JobDefinition").values()
    container = jd["Properties"]["ContainerProperties"]
    assert {"Name": "fsx", "Host": {"SourcePath": "/mnt/net"}} in container["Volumes"]
    assert {"ContainerPath": "/mnt/net", "SourceVolume": "fsx"} in container["MountPoints"]


# ----------------------------------------------------------------------- launch templates
def test_launch_template_user_data_is_mime_multipart(any_variant: Synth) -> None:
    for prefix in ("ComputeLaunchTemplate", "GpuLaunchTemplate"):
        user_data = _user_data(any_variant, prefix)
        assert "Content-Type: multipart/mixed" in user_data
        assert "Content-Type: text/x-shellscript" in user_data


def test_efs_hosts_mount_nothing_jobs_mount_efs_themselves(efs_variant: Synth) -> None:
    user_data = _user_data(efs_variant, "ComputeLaunchTemplate")
    assert "amazon-efs-utils" not in user_data
    assert "/mnt/efs" not in user_data


def test_fsx_launch_template_installs_lustre_client_and_mounts_at_mnt_net(fsx: Synth) -> None:
    user_data = _user_data(fsx, "ComputeLaunchTemplate")
    assert "dnf install -y lustre-client" in user_data
    assert "mount -t lustre -o relatime,flock " in user_data
    assert '".fsx.", {"Ref": "AWS::Region"}' in user_data  # the file system's DNS name
    assert '"LustreMountName"]}, " /mnt/net' in user_data
    assert "/mnt/net" in user_data


def test_launch_template_uses_instance_storage_for_scratch(any_variant: Synth) -> None:
    user_data = _user_data(any_variant, "ComputeLaunchTemplate")
    assert "nvme-Amazon_EC2_NVMe_Instance_Storage" in user_data
    assert "/mnt/scratch" in user_data


def test_launch_template_encrypts_root_volume_and_requires_imdsv2(any_variant: Synth) -> None:
    any_variant.assertions.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {
                    "MetadataOptions": Match.object_like({"HttpTokens": "required"}),
                    "BlockDeviceMappings": [
                        Match.object_like({"Ebs": Match.object_like({"Encrypted": True})})
                    ],
                }
            )
        },
    )


# ------------------------------------------------------------------------- file systems
def test_efs_is_encrypted_elastic_with_mount_target_per_subnet(efs_variant: Synth) -> None:
    efs_variant.assertions.has_resource_properties(
        "AWS::EFS::FileSystem", {"Encrypted": True, "ThroughputMode": "elastic"}
    )
    efs_variant.assertions.resource_count_is("AWS::EFS::MountTarget", 2)
    efs_variant.assertions.resource_count_is("AWS::EFS::AccessPoint", 1)


def test_fsx_is_lustre_2_15_linked_to_run_bucket(fsx: Synth) -> None:
    (fs,) = fsx.resources("AWS::FSx::FileSystem").values()
    props = fs["Properties"]
    assert props["FileSystemType"] == "LUSTRE"
    assert props["FileSystemTypeVersion"] == "2.15"
    lustre = props["LustreConfiguration"]
    assert lustre["DeploymentType"] in ("SCRATCH_2", "PERSISTENT_2")
    assert "Bucket" in json.dumps(lustre["ImportPath"])


def test_fsx_security_group_opens_lustre_ports_to_compute(fsx: Synth) -> None:
    fsx.assertions.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"IpProtocol": "tcp", "FromPort": 988, "ToPort": 988}
    )
    fsx.assertions.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"IpProtocol": "tcp", "FromPort": 1018, "ToPort": 1023}
    )


# ---------------------------------------------------------------------------- functions
def test_efs_variant_has_five_step_functions_from_runner_image(efs_variant: Synth) -> None:
    fns = {
        k: v
        for k, v in efs_variant.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") == "Image"
    }
    assert len(fns) == 5
    for fn in fns.values():
        assert fn["Properties"]["ImageConfig"]["Command"] == [
            "wdl2sfn.task_runner.lambda_entry.handler"
        ]


def test_step_functions_mount_efs_access_point_with_environment(efs_variant: Synth) -> None:
    efs_variant.assertions.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FileSystemConfigs": [Match.object_like({"LocalMountPath": "/mnt/efs"})],
            "VpcConfig": Match.any_value(),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "WDL2SFN_STEP": "prepare",
                        "WDL2SFN_STORE": "/mnt/efs/wdl2sfn/runs",
                        "WDL2SFN_FILESYSTEM": "efs",
                        "WDL2SFN_RUN_BUCKET": Match.any_value(),
                        "WDL2SFN_EFS_ID": Match.any_value(),
                        "WDL2SFN_EFS_ACCESS_POINT": Match.any_value(),
                        "WDL2SFN_JOB_ROLE_ARN": Match.any_value(),
                    }
                )
            },
        },
    )


def test_fsx_variant_has_no_step_functions(fsx: Synth) -> None:
    images = [
        v
        for v in fsx.resources("AWS::Lambda::Function").values()
        if v["Properties"].get("PackageType") == "Image"
    ]
    assert images == []


def test_prepare_registers_job_definitions_and_passes_only_the_job_role(efs_variant: Synth) -> None:
    statements = _statements(efs_variant, "PrepareFunctionServiceRoleDefaultPolicy")
    register = [s for s in statements if "batch:RegisterJobDefinition" in _actions(s)]
    assert register and "job-definition/wdl2sfn-*" in json.dumps(register)
    (passrole,) = [s for s in statements if "iam:PassRole" in _actions(s)]
    (resource,) = _resources(passrole)
    assert resource["Fn::GetAtt"][0].startswith("TaskJobRole")


def test_only_prepare_may_register_job_definitions(efs_variant: Synth) -> None:
    for step in ("Init", "Collect", "Eval", "Finalize"):
        statements = _statements(efs_variant, f"{step}FunctionServiceRoleDefaultPolicy")
        assert not any("batch:RegisterJobDefinition" in _actions(s) for s in statements)
        assert not any("iam:PassRole" in _actions(s) for s in statements)


# ---------------------------------------------------------------------- state machine IAM
def test_submit_job_is_scoped_to_queues_and_wdl2sfn_job_definitions(any_variant: Synth) -> None:
    statements = [
        s for s in _state_machine_statements(any_variant) if "batch:SubmitJob" in _actions(s)
    ]
    assert statements
    for statement in statements:
        resources = _resources(statement)
        assert "*" not in resources
        text = json.dumps(resources)
        assert text.count("JobQueue") + text.count("Queue") >= 3
        assert "job-definition/wdl2sfn-*" in text


def test_no_role_has_aws_batch_full_access_or_admin(any_variant: Synth) -> None:
    text = json.dumps(any_variant.template)
    assert "AWSBatchFullAccess" not in text
    assert "AdministratorAccess" not in text
    assert '"Action": "*"' not in text and '"batch:*"' not in text


def test_state_machine_manages_the_batch_sync_rule(any_variant: Synth) -> None:
    (rule,) = [s for s in _state_machine_statements(any_variant) if "events:PutRule" in _actions(s)]
    assert sorted(_actions(rule)) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert "rule/StepFunctionsGetEventsForBatchJobsRule" in json.dumps(_resources(rule))


def test_state_machine_describes_and_terminates_batch_jobs(any_variant: Synth) -> None:
    actions = {a for s in _state_machine_statements(any_variant) for a in _actions(s)}
    assert {"batch:DescribeJobs", "batch:TerminateJob"} <= actions


def test_state_machine_starts_its_own_child_executions(any_variant: Synth) -> None:
    statements = _state_machine_statements(any_variant)
    (start,) = [s for s in statements if "states:StartExecution" in _actions(s)]
    assert "stateMachine:wdl2sfn-hello" in json.dumps(_resources(start))
    (follow,) = [s for s in statements if "states:DescribeExecution" in _actions(s)]
    assert "states:StopExecution" in _actions(follow)
    assert "execution:wdl2sfn-hello/*" in json.dumps(_resources(follow))


def test_state_machine_invokes_exactly_the_step_functions(efs_variant: Synth) -> None:
    """hello's machine invokes none itself: its init, call and outputs are stack machines'."""
    invokes = [
        s for s in _state_machine_statements(efs_variant) if "lambda:InvokeFunction" in _actions(s)
    ]
    targets = {r["Fn::GetAtt"][0] for s in invokes for r in _resources(s)}
    (sm,) = _workflow_machines(efs_variant)
    used = {
        name.removesuffix("FunctionArn")
        for name in sm["Properties"]["DefinitionSubstitutions"]
        if name.endswith("FunctionArn")
    }
    assert {t.split("Function")[0] for t in targets} == used


def test_fsx_state_machine_invokes_no_lambda(fsx: Synth) -> None:
    actions = {a for s in _state_machine_statements(fsx) for a in _actions(s)}
    assert "lambda:InvokeFunction" not in actions


def test_state_machine_reads_and_writes_run_bucket_for_distributed_map(any_variant: Synth) -> None:
    actions = {a for s in _state_machine_statements(any_variant) for a in _actions(s)}
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= actions
    assert not any(a.startswith("s3:") and "*" in a for a in actions)


def test_state_machine_logs_all_events_and_traces(any_variant: Synth) -> None:
    any_variant.assertions.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
            "TracingConfiguration": {"Enabled": True},
        },
    )


# ---------------------------------------------------------------------------------- bucket
def _run_bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    ((key, bucket),) = [
        (k, v) for k, v in synth.resources("AWS::S3::Bucket").items() if k.startswith("Bucket")
    ]
    return key, bucket["Properties"]


def test_bucket_policy_denies_requests_without_ssl(any_variant: Synth) -> None:
    key, _ = _run_bucket(any_variant)
    any_variant.assertions.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": key},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_bucket_blocks_public_access_encrypts_and_logs_access(any_variant: Synth) -> None:
    _, props = _run_bucket(any_variant)
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "DestinationBucketName" in props["LoggingConfiguration"]


def test_bucket_lifecycle_expires_run_scratch(any_variant: Synth) -> None:
    _, props = _run_bucket(any_variant)
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    for prefix in ("_items/", "_map_results/", "_steps/"):
        (rule,) = [r for r in rules.values() if r.get("Prefix") == prefix]
        assert rule["ExpirationInDays"] == 30 and "TagFilters" not in rule
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]


def test_bucket_name_comes_from_context(existing_vpc: Synth) -> None:
    _, props = _run_bucket(existing_vpc)
    assert props["BucketName"] == "wdl2sfn-test-runs"


def test_workflow_sources_are_uploaded_under_their_digest(any_variant: Synth) -> None:
    (deployment,) = any_variant.resources("Custom::CDKBucketDeployment").values()
    prefix = deployment["Properties"]["DestinationBucketKeyPrefix"]
    assert re.fullmatch(r"_workflows/[0-9a-f]{16,}/", prefix)


# --------------------------------------------------------------------------------- triggers
def test_inputs_rule_starts_workflow_on_object_created(any_variant: Synth) -> None:
    (rule,) = [
        r
        for r in any_variant.resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"]["source"] != ["aws.batch"]  # FSx: failed wait jobs
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "inputs/hello/*.json"}]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_live_alias(any_variant), "Arn"]}
    assert "Input" not in target  # the event itself is the execution input


def _live_alias(synth: Synth) -> str:
    (logical,) = synth.resources("AWS::StepFunctions::StateMachineAlias")
    return str(logical)


def test_each_revision_is_published_as_a_version_kept_for_rollback(any_variant: Synth) -> None:
    ((logical, version),) = any_variant.resources("AWS::StepFunctions::StateMachineVersion").items()
    machine = version["Properties"]["StateMachineArn"]["Ref"]
    assert machine.startswith("WorkflowHelloStateMachine")
    assert version["Properties"]["StateMachineRevisionId"] == {
        "Fn::GetAtt": [machine, "StateMachineRevisionId"]
    }
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_alias_live_routes_every_run_to_the_newest_version(any_variant: Synth) -> None:
    (alias,) = any_variant.resources("AWS::StepFunctions::StateMachineAlias").values()
    (version,) = any_variant.resources("AWS::StepFunctions::StateMachineVersion")
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["RoutingConfiguration"] == [
        {"StateMachineVersionArn": {"Fn::GetAtt": [version, "Arn"]}, "Weight": 100}
    ]


def test_bucket_sends_events_to_eventbridge(any_variant: Synth) -> None:
    _, props = _run_bucket(any_variant)
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_schedule_starts_workflow_with_fixed_inputs(existing_vpc: Synth) -> None:
    (schedule,) = existing_vpc.resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 day)"
    assert json.loads(props["Target"]["Input"])["inputs"] == {"hello.who": "schedule"}
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [_live_alias(existing_vpc), "Arn"]}


def test_no_schedule_without_context(new_vpc: Synth) -> None:
    new_vpc.assertions.resource_count_is("AWS::Scheduler::Schedule", 0)


# ---------------------------------------------------------------------------------- network
def test_new_vpc_spans_two_azs_with_private_subnets(new_vpc: Synth) -> None:
    new_vpc.assertions.resource_count_is("AWS::EC2::VPC", 1)
    new_vpc.assertions.resource_count_is("AWS::EC2::Subnet", 4)
    new_vpc.assertions.resource_count_is("AWS::EC2::FlowLog", 1)


def test_new_vpc_has_s3_gateway_and_interface_endpoints(new_vpc: Synth) -> None:
    endpoints = new_vpc.resources("AWS::EC2::VPCEndpoint").values()
    kinds = [e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints]
    assert kinds.count("Gateway") == 1
    services = json.dumps([e["Properties"]["ServiceName"] for e in endpoints])
    for name in ("ecr.api", "ecr.dkr", "logs", "ecs", "batch", "states", "sts"):
        assert f".{name}" in services


def test_existing_vpc_uses_given_subnets_and_security_group(existing_vpc: Synth) -> None:
    existing_vpc.assertions.resource_count_is("AWS::EC2::VPC", 0)
    existing_vpc.assertions.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    ce = _compute_environment(existing_vpc, "CpuEnvironment")["ComputeResources"]
    assert ce["Subnets"] == ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    assert ce["SecurityGroupIds"] == ["sg-0123456789abcdef0"]


def test_owner_tag_is_applied(any_variant: Synth) -> None:
    any_variant.assertions.has_resource_properties(
        "AWS::S3::Bucket",
        {"Tags": Match.array_with([{"Key": "Owner", "Value": "alice"}])},
    )


def test_task_job_role_only_reads_the_run_bucket_and_mounts_efs(any_variant: Synth) -> None:
    actions = {a for s in _statements(any_variant, "TaskJobRoleDefaultPolicy") for a in _actions(s)}
    efs = {
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
        "elasticfilesystem:ClientRootAccess",
    }
    s3 = {"s3:GetObject", "s3:GetObjectTagging", "s3:ListBucket", "s3:GetBucketLocation"}
    if any_variant.context.get("kms_key_arns"):
        s3.add("kms:Decrypt")  # reading SSE-KMS objects of read_buckets (test_kms_buckets.py)
    assert actions == (s3 if any_variant.variant == "fsx" else s3 | efs)
