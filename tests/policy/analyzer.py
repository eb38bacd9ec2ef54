"""A stack's resources through the policy SDK's own servicer, as the engine hands them to the pack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yellow_policies as yp
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tests.policy.resources import STACK, Resource

PACK = "datasurface-yellow"


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str
    mandatory: bool


def policy_names() -> list[str]:
    return [policy.name for policy in yp.POLICIES]


def urn(resource: Resource) -> str:
    return f"urn:pulumi:{STACK}::{PACK}::{resource.type}::{resource.name}"


def as_struct(props: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({k: v for k, v in props.items() if not k.startswith("__")})  # the engine drops internal keys
    return struct


def analyzer_resource(resource: Resource, urns: dict[str, str]) -> proto.AnalyzerResource:
    return proto.AnalyzerResource(
        type=resource.type,
        name=resource.name,
        urn=urns[resource.name],
        parent=urns.get(resource.parent or "", ""),
        properties=as_struct(resource.props),
    )


def review(resources: Sequence[Resource]) -> list[Violation]:
    """Every violation the pack reports for a stack of `resources`, each with the name of the resource it names."""
    urns = {r.name: urn(r) for r in resources}
    request = proto.AnalyzeStackRequest(resources=[analyzer_resource(r, urns) for r in resources])
    servicer = _PolicyAnalyzerServicer(
        PACK, "0.1.0", yp.POLICIES, EnforcementLevel.MANDATORY, None, None, None, None, None, None, None
    )
    names = {u: name for name, u in urns.items()}
    return [
        Violation(d.policyName, names.get(d.urn, d.urn), without_description(d), d.enforcementLevel == proto.MANDATORY)
        for d in servicer.AnalyzeStack(request, None).diagnostics
    ]


def without_description(diagnostic: proto.AnalyzeDiagnostic) -> str:
    """The policy's own message: the SDK puts the policy's description in front, on a line of its own."""
    prefix = diagnostic.description + "\n"
    assert diagnostic.message.startswith(prefix), diagnostic.message
    return diagnostic.message[len(prefix) :]


def messages(resources: Sequence[Resource]) -> list[str]:
    return [v.message for v in review(resources)]
