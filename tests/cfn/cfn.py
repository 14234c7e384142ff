"""CloudFormation helper of tests/external/cloudformation.rs, run with the venv's Python
(.ci/deps-aws installs cfn-lint and moto there). Every subcommand prints one JSON document.

  cfn.py json TEMPLATE
      the template as cfn-lint reads it: short forms (!Ref, !Sub, ...) in their long JSON form.
  cfn.py artifact-counts
      cfn-lint's own table of input/output artifact counts per CodePipeline action type
      (rule E3702): {"Owner": {"Category": {"Provider": {"InputArtifacts": {...}, ...}}}}.
  cfn.py moto ENDPOINT TEMPLATE STACK [KEY=VALUE ...]
      creates the template as stack STACK in the moto server at ENDPOINT (loopback only), less the
      resources moto's CloudFormation does not create (see SKIPPED), and prints what moto then
      holds for every other resource: roles with their inline policies, buckets' encryption, KMS
      keys with policy, rotation and aliases, log groups, EventBridge rules with their targets;
      and the stack's outputs. When STACK exists already, it is made again with the parameters
      given and the previous value of every other one, as `aws cloudformation deploy` updates it.
  cfn.py resolve TEMPLATE [KEY=VALUE ...]
      the template as CloudFormation would use it with these parameter values (defaults for the
      rest): conditions evaluated, every Fn::If replaced by its branch, AWS::NoValue removed, and
      resources and outputs whose condition is false left out. Other intrinsic functions stay.
"""

import ast
import json
import re
import sys
import time

SKIPPED = (
    "AWS::CodePipeline::Pipeline",
    "AWS::CodeBuild::Project",
    "AWS::CodeDeploy::",
    "AWS::S3::BucketPolicy",
)


def load(path):
    from cfnlint.decode import decode

    template, matches = decode(path)
    if template is None:
        sys.exit(f"{path}: cfn-lint cannot read it: {[str(m) for m in matches]}")
    return json.loads(json.dumps(template))


def artifact_counts():
    from cfnlint.rules.resources.codepipeline.PipelineArtifactCounts import (
        PipelineArtifactCounts,
    )

    return PipelineArtifactCounts()._artifact_counts


def stand_in(logical_id, attribute=None):
    """What a reference to a resource moto skips becomes: its logical id for a Ref (a name), an
    ARN-shaped string for an attribute."""
    if attribute is None:
        return logical_id
    return f"arn:aws:skipped:eu-west-1:123456789012:{logical_id}/{attribute}"


def replace_skipped(node, skipped):
    if isinstance(node, list):
        return [replace_skipped(n, skipped) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in skipped:
        return stand_in(node["Ref"])
    if set(node) == {"Fn::GetAtt"}:
        target = node["Fn::GetAtt"]
        if isinstance(target, str):
            target = target.split(".", 1)
        if target[0] in skipped:
            return stand_in(target[0], target[1])
    if set(node) == {"Fn::Sub"}:
        body = node["Fn::Sub"]
        text = body if isinstance(body, str) else body[0]

        def sub(match):
            name, _, attribute = match.group(1).partition(".")
            if name in skipped:
                return stand_in(name, attribute or None)
            return match.group(0)

        text = re.sub(r"\$\{([A-Za-z0-9.:]+)\}", sub, text)
        rest = [] if isinstance(body, str) else [replace_skipped(body[1], skipped)]
        return {"Fn::Sub": text if not rest else [text, *rest]}
    return {k: replace_skipped(v, skipped) for k, v in node.items()}


def as_sub_text(node):
    """A policy object with Ref, GetAtt and Sub in it, as one Fn::Sub of its JSON text."""

    def marked(n):
        if isinstance(n, list):
            return [marked(x) for x in n]
        if not isinstance(n, dict):
            return n
        if set(n) == {"Ref"}:
            return "${" + n["Ref"] + "}"
        if set(n) == {"Fn::GetAtt"}:
            target = n["Fn::GetAtt"]
            return "${" + (target if isinstance(target, str) else ".".join(target)) + "}"
        if set(n) == {"Fn::Sub"} and isinstance(n["Fn::Sub"], str):
            return n["Fn::Sub"]
        return {k: marked(v) for k, v in n.items()}

    return {"Fn::Sub": json.dumps(marked(node))}


def for_moto(template):
    skipped = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith(SKIPPED)
    }
    kept = {n: r for n, r in template["Resources"].items() if n not in skipped}
    out = {k: v for k, v in template.items() if k not in ("Rules", "Metadata")}
    out["Resources"] = replace_skipped(kept, skipped)
    if "Outputs" in out:
        out["Outputs"] = replace_skipped(out["Outputs"], skipped)
    # moto keeps a KeyPolicy given as an object as it is, and then fails every call on the key
    # (it expects the JSON text, which CloudFormation accepts too): hand it over as that text.
    for resource in out["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"]["KeyPolicy"] = as_sub_text(resource["Properties"]["KeyPolicy"])
    return out, sorted(skipped)


def policy_document(stored):
    """An inline policy as moto stores one a stack made: the Python repr of the resolved object,
    with an AWS::NoValue in a list left as None. Read back as an object, without those Nones
    (CloudFormation removes a NoValue from its list)."""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            stored = ast.literal_eval(stored)

    def without_none(node):
        if isinstance(node, list):
            return [without_none(n) for n in node if n is not None]
        if isinstance(node, dict):
            return {k: without_none(v) for k, v in node.items()}
        return node

    return without_none(stored)


def moto(endpoint, path, stack, params):
    import boto3

    session = boto3.Session(
        aws_access_key_id="AKIDIMAGEDEFTEST",
        aws_secret_access_key="imagedefTestSecretKey",
        region_name="eu-west-1",
    )

    def client(name):
        return session.client(name, endpoint_url=endpoint)

    body, skipped = for_moto(load(path))
    cfn = client("cloudformation")
    given = dict(p.split("=", 1) for p in params)
    existing = {s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
    if stack in existing:
        # As `aws cloudformation deploy` updates a stack: the parameters given, and the previous
        # value of every other parameter the template has. moto 5.2 cannot update a stack that
        # holds an EventBridge rule (Rule.update_from_cloudformation_json is handed no original
        # resource), so the update is made as a delete and a create with those values.
        previous = previous_parameters(cfn, stack)
        given = {k: given.get(k, previous.get(k)) for k in body.get("Parameters", {}) if k in given or k in previous}
        cfn.delete_stack(StackName=stack)
        for _ in range(100):
            if not any(
                s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"
                for s in cfn.list_stacks()["StackSummaries"]
            ):
                break
            time.sleep(0.1)
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    for _ in range(100):
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = described["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]

    iam, s3, kms = client("iam"), client("s3"), client("kms")
    logs, events = client("logs"), client("events")
    aliases = kms.list_aliases()["Aliases"]
    seen = {}
    for r in resources:
        if not r["LogicalResourceId"]:
            continue  # moto lists a resource whose Condition is false without a name
        kind, physical = r["ResourceType"], r["PhysicalResourceId"]
        entry = {"Type": kind, "PhysicalResourceId": physical}
        if kind == "AWS::IAM::Role":
            role = iam.get_role(RoleName=physical)["Role"]
            entry["Arn"] = role["Arn"]
            entry["AssumeRolePolicyDocument"] = role["AssumeRolePolicyDocument"]
            entry["Policies"] = {
                name: policy_document(
                    iam.get_role_policy(RoleName=physical, PolicyName=name)["PolicyDocument"]
                )
                for name in iam.list_role_policies(RoleName=physical)["PolicyNames"]
            }
        elif kind == "AWS::S3::Bucket":
            try:
                entry["Encryption"] = s3.get_bucket_encryption(Bucket=physical)[
                    "ServerSideEncryptionConfiguration"
                ]
            except s3.exceptions.ClientError as e:
                entry["Encryption"] = str(e)
        elif kind == "AWS::KMS::Key":
            key = kms.describe_key(KeyId=physical)["KeyMetadata"]
            entry["Arn"] = key["Arn"]
            entry["KeyState"] = key["KeyState"]
            entry["Policy"] = json.loads(kms.get_key_policy(KeyId=physical, PolicyName="default")["Policy"])
            entry["KeyRotationEnabled"] = kms.get_key_rotation_status(KeyId=physical)["KeyRotationEnabled"]
            entry["Aliases"] = sorted(a["AliasName"] for a in aliases if a.get("TargetKeyId") == key["KeyId"])
        elif kind == "AWS::Logs::LogGroup":
            groups = logs.describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            entry["LogGroups"] = [
                {"logGroupName": g["logGroupName"], "retentionInDays": g.get("retentionInDays")}
                for g in groups
            ]
        elif kind == "AWS::Events::Rule":
            name = physical.split("/")[-1]
            rule = events.describe_rule(Name=name)
            entry["EventPattern"] = json.loads(rule["EventPattern"])
            entry["State"] = rule.get("State")
            entry["Targets"] = events.list_targets_by_rule(Rule=name)["Targets"]
        seen[r["LogicalResourceId"]] = entry
    return {"StackStatus": status, "Skipped": skipped, "Resources": seen, "Outputs": outputs}


def previous_parameters(cfn, stack):
    """The stack's parameter values, by key."""
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}


def resolve(path, params):
    """The template with its conditions decided by these parameter values."""
    template = load(path)
    values = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    for p in params:
        key, _, value = p.partition("=")
        if key not in values:
            sys.exit(f"{path} has no parameter {key}")
        values[key] = value
    for key, value in values.items():
        if value is None:
            sys.exit(f"{path}: parameter {key} has no default; give it")
        if template["Parameters"][key]["Type"] == "CommaDelimitedList" and isinstance(value, str):
            values[key] = value.split(",")
    conditions = {}

    def evaluate(node):
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Condition":
                return condition(arg)
            if fn == "Fn::Equals":
                a, b = (value_of(x) for x in arg)
                return a == b
            if fn == "Fn::Not":
                return not evaluate(arg[0])
            if fn == "Fn::And":
                return all(evaluate(x) for x in arg)
            if fn == "Fn::Or":
                return any(evaluate(x) for x in arg)
        sys.exit(f"{path}: cannot evaluate the condition {node}")

    def value_of(node):
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        if isinstance(node, dict) and set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return separator.join(str(x) for x in flatten(value_of(parts)))
        if isinstance(node, dict) and set(node) == {"Ref"}:
            sys.exit(f"{path}: a condition refers to {node['Ref']}, which is no parameter")
        return node

    def flatten(node):
        return node if isinstance(node, list) else [node]

    def condition(name):
        if name not in conditions:
            conditions[name] = evaluate(template["Conditions"][name])
        return conditions[name]

    no_value = object()

    def walk(node):
        if isinstance(node, list):
            items = [walk(n) for n in node]
            return [i for i in items if i is not no_value]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return walk(yes if condition(name) else no)
        if node == {"Ref": "AWS::NoValue"}:
            return no_value
        items = {k: walk(v) for k, v in node.items()}
        return {k: v for k, v in items.items() if v is not no_value}

    out = dict(template)
    for section in ("Resources", "Outputs"):
        kept = {
            name: item
            for name, item in template.get(section, {}).items()
            if "Condition" not in item or condition(item["Condition"])
        }
        out[section] = walk(kept)
    out["Conditions"] = {name: condition(name) for name in template.get("Conditions", {})}
    out["ParameterValues"] = values
    return out


def main(argv):
    if len(argv) == 2 and argv[0] == "json":
        result = load(argv[1])
    elif len(argv) >= 2 and argv[0] == "resolve":
        result = resolve(argv[1], argv[2:])
    elif argv == ["artifact-counts"]:
        result = artifact_counts()
    elif len(argv) >= 4 and argv[0] == "moto":
        if not argv[1].startswith("http://127.0.0.1:"):
            sys.exit(f"moto endpoint must be on 127.0.0.1, not {argv[1]}")
        result = moto(argv[1], argv[2], argv[3], argv[4:])
    else:
        sys.exit(__doc__)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
