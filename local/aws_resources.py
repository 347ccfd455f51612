"""The template's data resources (table, key, secrets, queues, event bus, sender identity), created in any AWS
endpoint (moto's server locally) from ``template.yaml`` itself, and the functions' environment as the
template's Globals define it.

Functions, the HTTP API, log groups and alarms are not created: the local stack runs the handlers
in-process and dispatches API Gateway and SQS events to them.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.template import Resolver, load_template, parameter_defaults

LOCAL_PARAMETERS = {
    "XeroClientId": "SANDBOXCLIENTID0000000000000000",
    "XeroClientSecret": "sandbox-client-secret-not-for-production",
    "AlertSenderEmail": "alerts@invoice-sync.example",
    "CreateSenderIdentity": "yes",
}


@dataclass
class LocalResources:
    """What was created, by logical id, and the environment the functions would see."""

    prefix: str
    physical: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def table_name(self) -> str:
        return self.physical["Table"]

    @property
    def queue_url(self) -> str:
        return self.physical["InvoiceQueue"]

    @property
    def dead_letter_queue_url(self) -> str:
        return self.physical["DeadLetterQueue"]

    @property
    def alert_queue_url(self) -> str:
        return self.physical["AlertQueue"]

    @property
    def alert_dead_letter_queue_url(self) -> str:
        return self.physical["AlertDeadLetterQueue"]

    @property
    def flush_queue_url(self) -> str:
        return self.physical["FlushQueue"]

    @property
    def status_event_bus(self) -> str:
        return self.physical["StatusEventBus"]


def create_resources(
    parameters: dict[str, str] | None = None, *, prefix: str | None = None, region: str = "us-east-1"
) -> LocalResources:
    """Create every data resource of the template; ``prefix`` keeps parallel stacks apart."""
    template = load_template()
    params = parameter_defaults(template) | LOCAL_PARAMETERS | (parameters or {})
    resolver = Resolver(template, params)
    prefix = prefix or f"local-{uuid.uuid4().hex[:8]}"
    resolver.pseudo["AWS::StackName"] = prefix
    resolver.pseudo["AWS::Region"] = region
    created = LocalResources(prefix=prefix)
    resources: dict[str, Any] = template["Resources"]
    # Dead-letter queues before the queues that redrive to them; everything else in template order.
    order = sorted(resources, key=lambda name: 0 if "RedrivePolicy" not in resources[name].get("Properties", {}) else 1)
    for logical in order:
        spec = resources[logical]
        if "Condition" in spec and not resolver.condition(spec["Condition"]):
            continue
        creator = _CREATORS.get(spec["Type"])
        if creator is not None:
            creator(logical, spec.get("Properties", {}), resolver, created, region)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    created.environment = {name: str(resolver.resolve(value)) for name, value in env.items()}
    return created


def _table(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    client = boto3.client("dynamodb", region_name=region)
    name = f"{out.prefix}-{logical}"
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    resolver.refs[logical] = name
    resolver.attributes[(logical, "Arn")] = arn
    out.physical[logical] = name


def _key(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    client = boto3.client("kms", region_name=region)
    key = client.create_key(Description=props.get("Description", logical))["KeyMetadata"]
    resolver.refs[logical] = key["KeyId"]
    resolver.attributes[(logical, "Arn")] = key["Arn"]
    out.physical[logical] = key["Arn"]


def _secret(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    client = boto3.client("secretsmanager", region_name=region)
    if "SecretString" in props:
        value = str(resolver.resolve(props["SecretString"]))
    else:
        spec = props.get("GenerateSecretString", {})
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += "!#$%&()*+,-./:;<=>?@[]^_{|}~"
        value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    arn = client.create_secret(Name=f"{out.prefix}-{logical}", SecretString=value)["ARN"]
    resolver.refs[logical] = arn
    out.physical[logical] = arn


def _queue(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    client = boto3.client("sqs", region_name=region)
    attributes: dict[str, Any] = {}
    for key in (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
        "DeduplicationScope",
        "FifoThroughputLimit",
    ):
        if key in props:
            attributes[key] = str(props[key])
    if props.get("FifoQueue"):
        attributes["FifoQueue"] = "true"
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(resolver.resolve(props["RedrivePolicy"]))
    name = f"{out.prefix}-{logical}" + (".fifo" if props.get("FifoQueue") else "")
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resolver.refs[logical] = url
    resolver.attributes[(logical, "Arn")] = arn
    resolver.attributes[(logical, "QueueName")] = name
    out.physical[logical] = url


def _email_identity(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    identity = str(resolver.resolve(props["EmailIdentity"]))
    boto3.client("ses", region_name=region).verify_email_identity(EmailAddress=identity)
    resolver.refs[logical] = identity
    out.physical[logical] = identity


def _event_bus(logical: str, props: dict[str, Any], resolver: Resolver, out: LocalResources, region: str) -> None:
    name = str(resolver.resolve(props["Name"]))
    arn = boto3.client("events", region_name=region).create_event_bus(Name=name)["EventBusArn"]
    resolver.refs[logical] = name
    resolver.attributes[(logical, "Arn")] = arn
    resolver.attributes[(logical, "Name")] = name
    out.physical[logical] = name


_CREATORS = {
    "AWS::DynamoDB::Table": _table,
    "AWS::KMS::Key": _key,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SQS::Queue": _queue,
    "AWS::SES::EmailIdentity": _email_identity,
    "AWS::Events::EventBus": _event_bus,
}
