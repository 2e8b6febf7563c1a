"""CloudFormation's intrinsic functions, resolved against the resources the rehearsal created.

The synthesized template is the single source of truth (DESIGN invariant 9): every property the
rehearsal uses (a Lambda function's environment, a job definition's volumes, a policy's resources)
is read from it and resolved exactly as CloudFormation would, with ``Ref`` and ``Fn::GetAtt``
answering with the physical ids of the moto resources.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property is removed
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template uses something the rehearsal cannot resolve."""


@dataclass
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` return for one created resource."""

    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Resolver:
    """Resolves intrinsic functions; ``resources`` grows as the provisioner creates resources."""

    region: str
    account: str
    stack_name: str
    resources: dict[str, Physical] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/"
            f"{self.stack_name}/{fake_id(self.stack_name, 'stack')}",
            "AWS::NoValue": NO_VALUE,
        }
        return values.get(name)

    def ref(self, name: str) -> Any:
        value = self.pseudo(name)
        if value is not None:
            return value
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        raise TemplateError(f"Ref {name}: no such resource or parameter (yet)")

    def get_att(self, logical: str, attr: str) -> str:
        physical = self.resources.get(logical)
        if physical is None:
            raise TemplateError(f"Fn::GetAtt {logical}.{attr}: no such resource (yet)")
        if attr not in physical.attrs:
            raise TemplateError(f"Fn::GetAtt {logical}.{attr}: attribute not provided")
        return physical.attrs[attr]

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated (``AWS::NoValue`` keys dropped)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.get_att(logical, attr)
        if key == "Fn::Join":
            sep, parts = arg
            return sep.join(str(p) for p in self.resolve(parts))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        if key == "Fn::GetAZs":
            return [f"{self.region}{c}" for c in "abc"]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        raise TemplateError(f"{key} is not supported by the rehearsal")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.get_att(logical, attr))
            return str(self.ref(name))

        return _SUB.sub(one, text).replace("${!", "${")


def references(value: Any) -> set[str]:
    """Logical ids a property value refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".", 1)[0] for m in _SUB.findall(text) if "::" not in m}
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids ordered so that every resource comes after those it refers to."""
    deps = {
        logical: (references(body.get("Properties", {})) | set(_depends_on(body))) & set(resources)
        for logical, body in resources.items()
    }
    order: list[str] = []
    done: set[str] = set()

    def visit(logical: str, path: tuple[str, ...]) -> None:
        if logical in done:
            return
        if logical in path:
            raise TemplateError(f"circular reference: {' -> '.join((*path, logical))}")
        for dep in sorted(deps[logical]):
            visit(dep, (*path, logical))
        done.add(logical)
        order.append(logical)

    for logical in sorted(resources):
        visit(logical, ())
    return order


def _depends_on(body: dict[str, Any]) -> list[str]:
    value = body.get("DependsOn") or []
    return [value] if isinstance(value, str) else list(value)


def fake_id(*parts: str, length: int = 12) -> str:
    """A stable pseudo-random id (resources moto does not model: VPCs, subnets, ...)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def physical_name(stack: str, logical: str, limit: int = 64, lower: bool = False) -> str:
    """A name as CloudFormation generates one: ``<stack>-<logical>-<suffix>``, cut to the limit."""
    suffix = fake_id(stack, logical, length=12).upper()
    head = f"{stack}-{logical}"[: limit - len(suffix) - 1]
    name = f"{head}-{suffix}"
    return name.lower() if lower else name
