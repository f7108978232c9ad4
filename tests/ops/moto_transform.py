"""The documented transform that lets moto 5.2.5 create the generated template, one step per moto gap.

Nothing else changes: every other resource, property, condition, parameter and output is sent as generated.
Gaps (reference/aws.md §5 and §10, and what this file's test found):
  1. NLB TCP listeners: moto builds a `network` LoadBalancer as an application one, so a TCP listener
     fails -> the two Listener resources are removed.
  2. DB parameter group by Ref: a DBInstance whose DBParameterGroupName is a Ref crashes CreateStack
     -> that one property is removed.
  3. Secrets Manager secrets in CloudFormation: moto skips them (their Refs resolve to nothing) -> the
     test creates each secret through the Secrets Manager API and its ARN replaces `Ref`/`${Name}`.
  4. AWS::NoValue inside a list: moto keeps it as null (IAM then rejects the policy) -> list items
     `Fn::If [cond, X, AWS::NoValue]` whose condition is false for the given parameters are dropped
     (the conditions evaluated are Equals/Not over parameters, the only forms such items use).
  5. Custom::AmiLookup: moto invokes custom resources through Docker -> not a transform: the template's
     own ImageIdX8664/ImageIdAarch64 parameters switch the lookups off (their conditions are false).
  6. Fn::Cidr: moto does not implement it -> each Fn::Cidr is replaced by the list it evaluates to
     (Python's ipaddress), its block being the VPC's CidrBlock resolved from the parameters.
Lifecycle hooks and CreationPolicy are ignored by moto (no transform; nothing about them is tested here);
moto leaves Outputs empty after a change-set create (CreateStack fills them), which test_generated_stack
works around by creating the stack once more with CreateStack for client-config.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

NO_VALUE = {"Ref": "AWS::NoValue"}


def _condition(template: Mapping[str, Any], name: str, params: Mapping[str, str]) -> bool:
    def ev(expr: Any) -> Any:
        if isinstance(expr, dict) and "Ref" in expr:
            return params[expr["Ref"]]
        if isinstance(expr, dict) and "Fn::Equals" in expr:
            a, b = expr["Fn::Equals"]
            return ev(a) == ev(b)
        if isinstance(expr, dict) and "Fn::Not" in expr:
            return not ev(expr["Fn::Not"][0])
        if isinstance(expr, dict) and "Fn::And" in expr:
            return all(ev(e) for e in expr["Fn::And"])
        if isinstance(expr, dict) and "Fn::Or" in expr:
            return any(ev(e) for e in expr["Fn::Or"])
        if isinstance(expr, dict) and "Condition" in expr:
            return _condition(template, expr["Condition"], params)
        if isinstance(expr, str):
            return expr
        raise ValueError(f"condition form not handled by the moto transform: {expr}")
    return bool(ev(template["Conditions"][name]))


def for_moto(template: Mapping[str, Any], params: Mapping[str, str], secret_arns: Mapping[str, str]) -> dict:
    """The generated template with exactly the six workarounds above applied."""
    t = copy.deepcopy(dict(template))
    values = {k: p.get("Default", "") for k, p in t.get("Parameters", {}).items()}
    values.update(params)
    resources = t["Resources"]
    for name in [k for k, r in resources.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"]:  # gap 1
        del resources[name]
    for res in resources.values():  # gap 2
        if res["Type"] == "AWS::RDS::DBInstance":
            res.get("Properties", {}).pop("DBParameterGroupName", None)
    for name in [k for k, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"]:  # gap 3
        del resources[name]
    assert set(secret_arns) >= {k for k, r in template["Resources"].items()
                                if r["Type"] == "AWS::SecretsManager::Secret"}

    def sub_text(text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: secret_arns.get(m.group(1), m.group(0)), text)

    def cidr_block(expr: Any) -> str:
        if isinstance(expr, str):
            return expr
        if "Ref" in expr:
            return values[expr["Ref"]]
        logical, attr = expr["Fn::GetAtt"]
        assert attr == "CidrBlock" and resources[logical]["Type"] == "AWS::EC2::VPC"
        return cidr_block(resources[logical]["Properties"]["CidrBlock"])

    def walk(v: Any) -> Any:
        if isinstance(v, dict) and "Fn::Cidr" in v:  # gap 6
            block, count, bits = v["Fn::Cidr"]
            net = ipaddress.ip_network(cidr_block(block))
            subnets = net.subnets(new_prefix=net.max_prefixlen - int(bits))
            return [str(next(subnets)) for _ in range(int(count))]
        if isinstance(v, list):
            kept = [x for x in v if not (isinstance(x, dict) and "Fn::If" in x and x["Fn::If"][2] == NO_VALUE
                                         and not _condition(t, x["Fn::If"][0], values))]  # gap 4
            return [walk(x) for x in kept]
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in secret_arns:
                return secret_arns[v["Ref"]]
            out = {}
            for k, x in v.items():
                if k == "Fn::Sub":
                    out[k] = sub_text(x) if isinstance(x, str) else [sub_text(x[0]), walk(x[1])]
                elif k == "Fn::If":  # its [condition, yes, no] is not a list to drop items from
                    out[k] = [x[0], walk(x[1]), walk(x[2])]
                elif k == "DependsOn":
                    deps = [x] if isinstance(x, str) else x
                    out[k] = [d for d in deps if d not in secret_arns]
                else:
                    out[k] = walk(x)
            return out
        return v

    t["Resources"] = walk(resources)
    t["Outputs"] = walk(t.get("Outputs", {}))
    return t
