"""The DataSurface Yellow policy pack: `pulumi preview --policy-pack policy` runs it.

Every policy is mandatory. The checks are plain functions in yellow_policies.py; this file only
adapts them to pulumi_policy. The engine runs this file with this folder on sys.path.
"""

from __future__ import annotations

import threading

import yellow_policies
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME = "datasurface-yellow"

_reviews: dict[str, yellow_policies.StackReview] = {}
_reviews_lock = threading.Lock()


def stack_of(urn: str) -> str:
    """`<stack>::<project>` from `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    parts = urn.split("::")
    return "::".join(parts[:2])


def _review_for(urn: str) -> yellow_policies.StackReview:
    return _reviews.setdefault(stack_of(urn), yellow_policies.StackReview())


def resource_validation(policy: yellow_policies.ResourcePolicy):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        props = yellow_policies.to_plain(args.props, unknown=(UnknownValueError,))
        with _reviews_lock:
            messages = policy.run(_review_for(args.urn), args.resource_type, props)
        for message in messages:
            report_violation(message, None)

    return validate


def stack_validation(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [
        (r.resource_type, yellow_policies.to_plain(r.props, unknown=(UnknownValueError,))) for r in args.resources
    ]
    for index, message in yellow_policies.stack_password_problems(resources):
        report_violation(message, args.resources[index].urn)


def policies() -> list:
    mandatory = EnforcementLevel.MANDATORY
    built: list = [
        ResourceValidationPolicy(
            name=p.name, description=p.description, validate=resource_validation(p), enforcement_level=mandatory
        )
        for p in yellow_policies.RESOURCE_POLICIES
    ]
    built.append(
        StackValidationPolicy(
            name=yellow_policies.STACK_POLICY_NAME,
            description=yellow_policies.STACK_POLICY_DESCRIPTION,
            validate=stack_validation,
            enforcement_level=mandatory,
        )
    )
    return built


if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
