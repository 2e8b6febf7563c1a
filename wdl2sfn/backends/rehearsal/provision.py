"""Create in moto what the synthesized template declares, as CloudFormation would.

Resources are created in dependency order, each property resolved with :class:`.cfn.Resolver`.
The types the wiring depends on are created for real (IAM roles, policies and instance
profiles, the buckets, EFS and its access points, Batch compute environments, queues and job
definitions, Lambda functions, log groups, state machines, EventBridge rules, Scheduler
schedules, CDK's BucketDeployment); the network (VPC, subnets, security groups, endpoints) gets
stable pseudo ids, since nothing here routes packets. Compute environments are created in moto as
UNMANAGED (moto would otherwise validate the network); what the rehearsal needs of them, their
platform and the paths their launch template's user data mounts, is kept in :class:`Compute`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cfn import Physical, Resolver, creation_order, fake_id, physical_name

WAIT_HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


@dataclass
class Compute:
    """A Batch compute environment as the jobs on it see it."""

    platform: str  # EC2 | SPOT | FARGATE | FARGATE_SPOT
    host_paths: list[str]  # paths its instances' user data mounts or creates
    max_vcpus: float | None = None  # MaxvCpus
    instance_types: list[str] = field(default_factory=list)  # InstanceTypes ("optimal", ...)


@dataclass
class Provisioned:
    """Everything created, by logical id, plus what the rehearsal reads back."""

    resolver: Resolver
    types: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    compute: dict[str, Compute] = field(default_factory=dict)  # CE ARN -> Compute
    queues: dict[str, list[str]] = field(default_factory=dict)  # queue ARN -> CE ARNs
    time_limits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # queue ARN -> ...
    file_systems: dict[str, str] = field(default_factory=dict)  # FS id -> "efs" | "fsx"
    access_points: dict[str, dict[str, Any]] = field(default_factory=dict)
    fs_policies: dict[str, str] = field(default_factory=dict)  # FS id -> policy JSON
    lifecycle: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # bucket -> rules
    schedules: list[dict[str, Any]] = field(default_factory=list)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> template props

    def of_type(self, cfn_type: str) -> dict[str, Physical]:
        return {k: self.resolver.resources[k] for k, t in self.types.items() if t == cfn_type}


class Provisioner:
    """Creates one stack's resources through boto3 clients bound to moto's endpoint."""

    def __init__(self, session: Any, endpoint: str, stack: str, assembly_dir: Path,
                 account: str, region: str) -> None:  # fmt: skip
        self.session = session
        self.endpoint = endpoint
        self.stack = stack
        self.assembly_dir = assembly_dir
        self.result = Provisioned(Resolver(region, account, stack))
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    def provision(self, template: dict[str, Any]) -> Provisioned:
        resources = template.get("Resources", {})
        self._template = template
        for name, param in template.get("Parameters", {}).items():
            self.result.resolver.parameters[name] = str(param.get("Default", ""))
        for logical in creation_order(resources):
            body = resources[logical]
            self.result.types[logical] = body["Type"]
            props = self.result.resolver.resolve(body.get("Properties", {}))
            self.result.resolver.resources[logical] = self._create(logical, body["Type"], props)
        self._stack(template.get("Outputs", {}))
        return self.result

    def _create(self, logical: str, cfn_type: str, props: dict[str, Any]) -> Physical:
        method = _CREATORS.get(cfn_type)
        if method is None:
            return _pseudo(self.stack, logical, cfn_type, self.result.resolver)
        return method(self, logical, props)  # type: ignore[no-any-return]

    def name(self, logical: str, limit: int = 64, lower: bool = False) -> str:
        return physical_name(self.stack, logical, limit, lower)

    def arn(self, service: str, resource: str) -> str:
        r = self.result.resolver
        return f"arn:aws:{service}:{r.region}:{r.account}:{resource}"

    # ---------------------------------------------------------------- IAM
    def role(self, logical: str, props: dict[str, Any]) -> Physical:
        iam = self.client("iam")
        name = props.get("RoleName") or self.name(logical)
        role = iam.create_role(
            RoleName=name,
            Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
            Description=props.get("Description", ""),
        )["Role"]
        for policy in props.get("Policies", []):
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))  # fmt: skip
        for arn in props.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return Physical(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def policy(self, logical: str, props: dict[str, Any]) -> Physical:
        for role in props.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=role,
                PolicyName=props["PolicyName"],
                PolicyDocument=json.dumps(props["PolicyDocument"]),
            )
        return Physical(props["PolicyName"])

    def managed_policy(self, logical: str, props: dict[str, Any]) -> Physical:
        """Ref is the policy's ARN (CloudFormation's AWS::IAM::ManagedPolicy return value)."""
        iam = self.client("iam")
        arn = iam.create_policy(
            PolicyName=props.get("ManagedPolicyName") or self.name(logical, 128),
            Path=props.get("Path", "/"),
            PolicyDocument=json.dumps(props["PolicyDocument"]),
            Description=props.get("Description", ""),
        )["Policy"]["Arn"]
        for role in props.get("Roles", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        return Physical(arn, {"PolicyArn": arn})

    def instance_profile(self, logical: str, props: dict[str, Any]) -> Physical:
        iam = self.client("iam")
        name = props.get("InstanceProfileName") or self.name(logical)
        profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        for role in props.get("Roles", []):
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return Physical(name, {"Arn": profile["Arn"]})

    # ---------------------------------------------------------------- storage
    def bucket(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("BucketName") or self.name(logical, 63, lower=True)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if props.get("NotificationConfiguration", {}).get("EventBridgeConfiguration"):
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={"EventBridgeConfiguration": {}},
            )
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        self.result.lifecycle[name] = rules
        if rules:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in rules]}
            )
        return Physical(name, {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.result.resolver.region}.amazonaws.com",
        })  # fmt: skip

    def efs(self, logical: str, props: dict[str, Any]) -> Physical:
        efs = self.client("efs")
        fs = efs.create_file_system(
            CreationToken=self.name(logical),
            PerformanceMode=props.get("PerformanceMode", "generalPurpose"),
            Encrypted=bool(props.get("Encrypted", False)),
        )
        fs_id = fs["FileSystemId"]
        self.result.file_systems[fs_id] = "efs"
        if props.get("FileSystemPolicy"):
            text = json.dumps(props["FileSystemPolicy"])
            efs.put_file_system_policy(FileSystemId=fs_id, Policy=text)
            self.result.fs_policies[fs_id] = text
        return Physical(fs_id, {"Arn": fs["FileSystemArn"], "FileSystemId": fs_id})

    def access_point(self, logical: str, props: dict[str, Any]) -> Physical:
        kwargs: dict[str, Any] = {"FileSystemId": props["FileSystemId"]}
        if props.get("PosixUser"):
            user = props["PosixUser"]
            kwargs["PosixUser"] = {"Uid": int(user["Uid"]), "Gid": int(user["Gid"])}
        if props.get("RootDirectory"):
            kwargs["RootDirectory"] = {"Path": props["RootDirectory"].get("Path", "/")}
        ap = self.client("efs").create_access_point(**kwargs)
        ap_id = ap["AccessPointId"]
        self.result.access_points[ap_id] = {
            "file_system": props["FileSystemId"],
            "root": kwargs.get("RootDirectory", {}).get("Path", "/"),
            "uid": kwargs.get("PosixUser", {}).get("Uid"),
            "arn": ap["AccessPointArn"],
        }
        return Physical(ap_id, {"Arn": ap["AccessPointArn"], "AccessPointId": ap_id})

    def fsx(self, logical: str, props: dict[str, Any]) -> Physical:
        fs_id = f"fs-0{fake_id(self.stack, logical, length=16)}"
        self.result.file_systems[fs_id] = "fsx"
        region = self.result.resolver.region
        return Physical(fs_id, {
            "DNSName": f"{fs_id}.fsx.{region}.amazonaws.com",
            "LustreMountName": fake_id(fs_id, length=8),
            "ResourceARN": self.arn("fsx", f"file-system/{fs_id}"),
        })  # fmt: skip

    def log_group(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("LogGroupName") or self.name(logical, 512)
        self.client("logs").create_log_group(logGroupName=name)
        return Physical(name, {"Arn": self.arn("logs", f"log-group:{name}:*")})

    def bucket_deployment(self, logical: str, props: dict[str, Any]) -> Physical:
        """CDK's BucketDeployment: each source asset's files, under the destination prefix."""
        prefix = props.get("DestinationBucketKeyPrefix", "")
        for key in props.get("SourceObjectKeys", []):
            folder = self._asset_folder(key)
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = path.relative_to(folder).as_posix()
                self.client("s3").put_object(Bucket=props["DestinationBucketName"],
                                             Key=prefix + rel, Body=path.read_bytes())  # fmt: skip
        return _pseudo(self.stack, logical, "Custom::CDKBucketDeployment", self.result.resolver)

    def _asset_folder(self, object_key: str) -> Path:
        digest = object_key.split(".", 1)[0]
        folder = self.assembly_dir / f"asset.{digest}"
        if not folder.is_dir():
            raise FileNotFoundError(f"BucketDeployment source {object_key}: no {folder}")
        return folder

    # ---------------------------------------------------------------- Batch
    def compute_environment(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("ComputeEnvironmentName") or self.name(logical, 128)
        created = self.client("batch").create_compute_environment(
            computeEnvironmentName=name,
            type="UNMANAGED",
            state=props.get("State", "ENABLED"),
            serviceRole=self._batch_service_role(),
        )
        resources = props.get("ComputeResources", {})
        self.result.compute[created["computeEnvironmentArn"]] = Compute(
            platform=resources.get("Type", "EC2"),
            host_paths=self._user_data_paths(resources.get("LaunchTemplate", {})),
            max_vcpus=float(resources["MaxvCpus"]) if "MaxvCpus" in resources else None,
            instance_types=list(resources.get("InstanceTypes") or []),
        )
        arn = created["computeEnvironmentArn"]
        return Physical(arn, {"ComputeEnvironmentArn": arn})

    def _batch_service_role(self) -> str:
        """AWS Batch's service-linked role (every account that uses Batch has it)."""
        if not hasattr(self, "_service_role"):
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                     "sts:AssumeRole", "Principal": {"Service": "batch.amazonaws.com"}}]}  # fmt: skip
            role = self.client("iam").create_role(
                RoleName="AWSServiceRoleForBatch",
                Path="/aws-service-role/batch.amazonaws.com/",
                AssumeRolePolicyDocument=json.dumps(trust),
            )["Role"]
            self._service_role = str(role["Arn"])
        return self._service_role

    def _user_data_paths(self, launch: dict[str, Any]) -> list[str]:
        """Paths the launch template's user data mounts (``mount ... PATH``) or creates."""
        template_id = launch.get("LaunchTemplateId")
        for logical, body in self._template.get("Resources", {}).items():
            if self.result.resolver.resources.get(logical, Physical("")).ref != template_id:
                continue
            data = self.result.resolver.resolve(
                body["Properties"].get("LaunchTemplateData", {}).get("UserData", "")
            )
            text = _user_data_text(data)
            return sorted(set(re.findall(r"mkdir -p (/\S+)", text)))
        return []

    def job_queue(self, logical: str, props: dict[str, Any]) -> Physical:
        order = [
            {"order": int(o["Order"]), "computeEnvironment": o["ComputeEnvironment"]}
            for o in props.get("ComputeEnvironmentOrder", [])
        ]
        created = self.client("batch").create_job_queue(
            jobQueueName=props.get("JobQueueName") or self.name(logical, 128),
            state=props.get("State", "ENABLED"),
            priority=int(props.get("Priority", 1)),
            computeEnvironmentOrder=order,
        )
        arn = created["jobQueueArn"]
        self.result.queues[arn] = [o["computeEnvironment"] for o in order]
        self.result.time_limits[arn] = list(props.get("JobStateTimeLimitActions") or [])
        return Physical(arn, {"JobQueueArn": arn, "JobQueueName": created["jobQueueName"]})

    def job_definition(self, logical: str, props: dict[str, Any]) -> Physical:
        from ..local.batch import to_camel_case

        kwargs: dict[str, Any] = {
            "jobDefinitionName": props.get("JobDefinitionName") or self.name(logical, 128),
            "type": props.get("Type", "container"),
        }
        for key in ("ContainerProperties", "RetryStrategy", "Timeout", "Parameters"):
            if key in props:
                kwargs[key[0].lower() + key[1:]] = to_camel_case(props[key])
        if props.get("PlatformCapabilities"):
            kwargs["platformCapabilities"] = props["PlatformCapabilities"]
        if props.get("Tags"):
            kwargs["tags"] = props["Tags"]
        created = self.client("batch").register_job_definition(**kwargs)
        return Physical(created["jobDefinitionArn"])

    # ---------------------------------------------------------------- functions and machines
    def function(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("FunctionName") or self.name(logical)
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Role": props["Role"],
            "PackageType": props.get("PackageType", "Zip"),
            "Code": props.get("Code", {}),
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
        }
        if "S3Bucket" in kwargs["Code"]:  # CDK's own handlers (assets bucket): never invoked here
            kwargs["Code"] = {"ZipFile": _empty_zip()}
        for key in ("Environment", "FileSystemConfigs", "ImageConfig", "Handler", "Runtime"):
            if key in props:
                kwargs[key] = props[key]
        created = self.client("lambda").create_function(**kwargs)
        self.result.functions[name] = {**props, "FunctionName": name,
                                       "FunctionArn": created["FunctionArn"]}  # fmt: skip
        return Physical(name, {"Arn": created["FunctionArn"]})

    def state_machine(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("StateMachineName") or self.name(logical, 80)
        text = props.get("DefinitionString") or json.dumps(props.get("Definition", {}))
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            text = text.replace("${" + key + "}", str(value))
        created = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=text,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )
        arn = created["stateMachineArn"]
        revision = hashlib.sha256(f"{text}\n{props['RoleArn']}".encode()).hexdigest()[:32]
        return Physical(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": revision})

    def state_machine_version(self, logical: str, props: dict[str, Any]) -> Physical:
        published = self.client("stepfunctions").publish_state_machine_version(
            stateMachineArn=props["StateMachineArn"], description=props.get("Description", "")
        )
        arn = published["stateMachineVersionArn"]
        return Physical(arn, {"Arn": arn})

    def state_machine_alias(self, logical: str, props: dict[str, Any]) -> Physical:
        routes = [{"stateMachineVersionArn": r["StateMachineVersionArn"], "weight": int(r["Weight"])}
                  for r in props["RoutingConfiguration"]]  # fmt: skip
        created = self.client("stepfunctions").create_state_machine_alias(
            name=props["Name"],
            routingConfiguration=routes,
            description=props.get("Description", ""),
        )
        arn = created["stateMachineAliasArn"]
        return Physical(arn, {"Arn": arn})

    def rule(self, logical: str, props: dict[str, Any]) -> Physical:
        events = self.client("events")
        name = props.get("Name") or self.name(logical)
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if props.get("EventPattern"):
            kwargs["EventPattern"] = json.dumps(props["EventPattern"])
        if props.get("ScheduleExpression"):
            kwargs["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        targets = [{k: v for k, v in t.items() if k in ("Id", "Arn", "RoleArn", "Input")}
                   for t in props.get("Targets", [])]  # fmt: skip
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        return Physical(name, {"Arn": arn})

    def schedule(self, logical: str, props: dict[str, Any]) -> Physical:
        name = props.get("Name") or self.name(logical)
        target = props["Target"]
        self.client("scheduler").create_schedule(
            Name=name,
            ScheduleExpression=props["ScheduleExpression"],
            FlexibleTimeWindow=props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            Target={k: v for k, v in target.items() if k in ("Arn", "RoleArn", "Input")},
        )
        self.result.schedules.append({"name": name, **target})
        return Physical(name, {"Arn": self.arn("scheduler", f"schedule/default/{name}")})

    # ---------------------------------------------------------------- the stack itself
    def _stack(self, outputs: dict[str, Any]) -> None:
        resolved = {k: str(self.result.resolver.resolve(v["Value"])) for k, v in outputs.items()}
        self.result.outputs = resolved
        body = {
            "Resources": {"Placeholder": WAIT_HANDLE},
            "Outputs": {k: {"Value": v} for k, v in resolved.items()},
        }
        self.client("cloudformation").create_stack(
            StackName=self.stack, TemplateBody=json.dumps(body)
        )


_CREATORS: dict[str, Any] = {
    "AWS::IAM::Role": Provisioner.role,
    "AWS::IAM::Policy": Provisioner.policy,
    "AWS::IAM::InstanceProfile": Provisioner.instance_profile,
    "AWS::IAM::ManagedPolicy": Provisioner.managed_policy,
    "AWS::S3::Bucket": Provisioner.bucket,
    "AWS::EFS::FileSystem": Provisioner.efs,
    "AWS::EFS::AccessPoint": Provisioner.access_point,
    "AWS::FSx::FileSystem": Provisioner.fsx,
    "AWS::Logs::LogGroup": Provisioner.log_group,
    "Custom::CDKBucketDeployment": Provisioner.bucket_deployment,
    "AWS::Batch::ComputeEnvironment": Provisioner.compute_environment,
    "AWS::Batch::JobQueue": Provisioner.job_queue,
    "AWS::Batch::JobDefinition": Provisioner.job_definition,
    "AWS::Lambda::Function": Provisioner.function,
    "AWS::StepFunctions::StateMachine": Provisioner.state_machine,
    "AWS::StepFunctions::StateMachineVersion": Provisioner.state_machine_version,
    "AWS::StepFunctions::StateMachineAlias": Provisioner.state_machine_alias,
    "AWS::Events::Rule": Provisioner.rule,
    "AWS::Scheduler::Schedule": Provisioner.schedule,
}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    out: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule.get("Status", "Enabled")}
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
    if tags:
        out["Filter"] = {"And": {"Prefix": rule.get("Prefix", ""), "Tags": tags}}
    else:
        out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
    return out


def _user_data_text(data: str) -> str:
    """EC2 user data (base64; a MIME multi-part document as Batch requires) as script text."""
    import email

    if not data:
        return ""
    raw = base64.b64decode(data)
    message = email.message_from_bytes(raw)
    if not message.is_multipart():
        return raw.decode(errors="replace")
    parts = [p.get_payload(decode=True) for p in message.walk() if not p.is_multipart()]
    return "\n".join(p.decode(errors="replace") for p in parts if isinstance(p, bytes))


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


class _PseudoAttrs(dict):  # type: ignore[type-arg]
    """Any attribute of a resource moto does not model: a stable pseudo value."""

    def __init__(self, seed: str) -> None:
        super().__init__()
        self.seed = seed

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"{key.lower()}-{fake_id(self.seed, key)}"


def _pseudo(stack: str, logical: str, cfn_type: str, resolver: Resolver) -> Physical:
    kind = cfn_type.split("::")[-1].lower()
    ident = f"{kind}-{fake_id(stack, logical)}"
    attrs = _PseudoAttrs(ident)
    service = cfn_type.split("::")[1].lower() if "::" in cfn_type else "custom"
    attrs["Arn"] = f"arn:aws:{service}:{resolver.region}:{resolver.account}:{kind}/{ident}"
    return Physical(ident, attrs)
