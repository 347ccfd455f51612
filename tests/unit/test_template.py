"""template.yaml declares the whole service, with least-privilege IAM."""

from __future__ import annotations

from typing import Any

import pytest

from local.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}


def test_every_part_of_the_service_is_declared():
    types = {r["Type"] for r in RESOURCES.values()}

    assert set(FUNCTIONS) == {
        "OAuthFunction",
        "ManagementFunction",
        "IntakeFunction",
        "PushFunction",
        "SweepFunction",
        "AlertsFunction",
        "SettingsPageFunction",
        "ReconcileFunction",
    }
    assert {
        "AWS::Serverless::HttpApi",
        "AWS::DynamoDB::Table",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue",
        "AWS::SES::EmailIdentity",
        "AWS::Events::EventBus",
    } <= types
    assert {
        "ConnectUrl",
        "CallbackUrl",
        "QueueUrl",
        "ApiUrl",
        "AlertQueueUrl",
        "SettingsUrl",
        "StatusEventBusName",
    } <= set(TEMPLATE["Outputs"])


def test_runtime_is_python313_on_arm64():
    function_globals = TEMPLATE["Globals"]["Function"]

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]


def test_queue_redrives_to_a_dead_letter_queue_and_intake_reports_partial_failures():
    queue = RESOURCES["InvoiceQueue"]["Properties"]
    sqs_event = FUNCTIONS["IntakeFunction"]["Properties"]["Events"]["Events"]["Properties"]

    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert 1 < queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert sqs_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs_event["MaximumBatchingWindowInSeconds"] > 0
    assert queue["VisibilityTimeout"] >= 6 * FUNCTIONS["IntakeFunction"]["Properties"]["Timeout"]


def test_flush_tickets_are_fifo_one_group_per_organisation_and_one_organisation_per_invocation():
    queue = RESOURCES["FlushQueue"]["Properties"]
    tickets = FUNCTIONS["PushFunction"]["Properties"]["Events"]["Tickets"]["Properties"]

    assert queue["FifoQueue"] is True
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FlushDeadLetterQueue", "Arn"]}
    assert RESOURCES["FlushDeadLetterQueue"]["Properties"]["FifoQueue"] is True
    assert "FlushDeadLetterQueueAlarm" in RESOURCES
    assert tickets["Queue"] == {"Fn::GetAtt": ["FlushQueue", "Arn"]}
    assert tickets["BatchSize"] == 1
    assert tickets["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= 6 * FUNCTIONS["PushFunction"]["Properties"]["Timeout"]
    assert FUNCTIONS["IntakeFunction"]["Properties"]["Events"]["Wakes"]["Properties"]["Queue"] == {
        "Fn::GetAtt": ["WakeQueue", "Arn"]
    }


def test_reconciliation_runs_one_organisation_at_a_time_on_its_schedules_with_bounded_concurrency():
    queue = RESOURCES["ReconcileQueue"]["Properties"]
    function = FUNCTIONS["ReconcileFunction"]["Properties"]
    runs = function["Events"]["Runs"]["Properties"]
    weekly = function["Events"]["Weekly"]["Properties"]
    daily = function["Events"]["Daily"]["Properties"]
    parameter = TEMPLATE["Parameters"]["ReconcileMaxConcurrency"]

    assert queue["FifoQueue"] is True
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}
    assert RESOURCES["ReconcileDeadLetterQueue"]["Properties"]["FifoQueue"] is True
    assert "ReconcileDeadLetterQueueAlarm" in RESOURCES
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert runs["Queue"] == {"Fn::GetAtt": ["ReconcileQueue", "Arn"]}
    assert runs["BatchSize"] == 1
    assert runs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert runs["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ReconcileMaxConcurrency"}
    assert parameter["Default"] == 10
    assert weekly["Schedule"] == "cron(45 4 ? * SUN *)"
    assert weekly["Input"] == '{"reconcile": "full"}'
    assert daily["Schedule"] == "cron(45 4 ? * MON-SAT *)"
    assert daily["Input"] == '{"reconcile": "recent"}'
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["RECONCILE_QUEUE_URL"] == {
        "Ref": "ReconcileQueue"
    }
    allowed = {(a, str(s["Resource"])) for s in _statements(FUNCTIONS["ReconcileFunction"]) for a in _actions(s)}
    assert not any(a.startswith("dynamodb:Delete") for a, _ in allowed)  # differences resolved in batches only
    assert ("sqs:ChangeMessageVisibility", str({"Fn::GetAtt": ["ReconcileQueue", "Arn"]})) in allowed


def test_the_sample_events_are_what_the_reconcile_function_takes():
    import json
    from pathlib import Path

    from shared.models.reconcile import ReconcileRequest

    events = Path(__file__).resolve().parents[2] / "events"
    function = FUNCTIONS["ReconcileFunction"]["Properties"]["Events"]
    assert json.loads((events / "reconcile_schedule_weekly.json").read_text()) == json.loads(
        function["Weekly"]["Properties"]["Input"]
    )
    assert json.loads((events / "reconcile_schedule_daily.json").read_text()) == json.loads(
        function["Daily"]["Properties"]["Input"]
    )
    run = json.loads((events / "reconcile_run.json").read_text())["Records"][0]
    assert ReconcileRequest.model_validate_json(run["body"]).kind == "full"


def test_the_alert_queue_redrives_to_its_own_alarmed_dlq_and_the_alerts_function_reports_partial_failures():
    queue = RESOURCES["AlertQueue"]["Properties"]
    alerts = FUNCTIONS["AlertsFunction"]["Properties"]
    sqs_event = alerts["Events"]["Alerts"]["Properties"]
    alarm = RESOURCES["AlertDeadLetterQueueAlarm"]["Properties"]
    receives = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["ALERT_QUEUE_MAX_RECEIVES"]

    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == int(receives), "the function dead-letters on the last one"
    assert queue["VisibilityTimeout"] >= 6 * alerts["Timeout"]
    assert sqs_event["Queue"] == {"Fn::GetAtt": ["AlertQueue", "Arn"]}
    assert sqs_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["AlertDeadLetterQueue", "QueueName"]}}
    ]
    assert alerts["Handler"] == "functions.alerts.handler.lambda_handler"


def test_the_alerts_function_may_only_read_recipients_claim_alerts_back_off_dead_letter_and_email():
    allowed = {(a, str(s["Resource"])) for s in _statements(FUNCTIONS["AlertsFunction"]) for a in _actions(s)}
    publishers = {
        name
        for name, function in FUNCTIONS.items()
        for s in _statements(function)
        if s["Resource"] == {"Fn::GetAtt": ["AlertQueue", "Arn"]} and "sqs:SendMessage" in _actions(s)
    }

    table = str({"Fn::GetAtt": ["Table", "Arn"]})
    assert {a for a, r in allowed if r == table} == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert ("sqs:ChangeMessageVisibility", str({"Fn::GetAtt": ["AlertQueue", "Arn"]})) in allowed
    assert ("sqs:SendMessage", str({"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]})) in allowed
    assert {a for a, _ in allowed} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "ses:SendEmail",
    }
    assert publishers == {"IntakeFunction", "PushFunction", "ReconcileFunction"}  # the last: the weekly digest


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_table_has_ttl_and_the_sparse_index_the_sweep_reads():
    table = RESOURCES["Table"]["Properties"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert [k["AttributeName"] for k in indexes["SweepIndex"]["KeySchema"]] == ["sweep_pk", "sweep_due_on"]


def test_the_activity_index_projects_what_the_settings_page_shows():
    from shared.adapters.activity import PROJECTED

    index = next(
        i for i in RESOURCES["Table"]["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == "ActivityIndex"
    )

    assert [k["AttributeName"] for k in index["KeySchema"]] == ["activity_pk", "activity_at"]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(PROJECTED)}


def test_the_settings_page_routes_are_public_and_every_function_sending_status_events_may():
    page = FUNCTIONS["SettingsPageFunction"]["Properties"]["Events"]
    senders = {
        name
        for name, function in FUNCTIONS.items()
        for s in _statements(function)
        if s["Action"] == "events:PutEvents" and s["Resource"] == {"Fn::GetAtt": ["StatusEventBus", "Arn"]}
    }

    assert {e["Properties"]["Path"] for e in page.values()} == {
        "/xero/settings/open",
        "/xero/settings",
        "/xero/settings/activity",
        "/xero/settings/assets/{name}",
        "/xero/settings/{action}",
    }
    assert all("Auth" not in e["Properties"] for e in page.values())  # the signed link and the session guard them
    # Disconnects (management, sweep, page) and lost grants (any token refresh: the push's, reconciliation's).
    assert senders == {
        "ManagementFunction",
        "SweepFunction",
        "IntakeFunction",
        "PushFunction",
        "SettingsPageFunction",
        "ReconcileFunction",
    }
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["STATUS_EVENT_BUS_NAME"] == {
        "Ref": "StatusEventBus"
    }


def test_management_routes_require_iam_and_oauth_routes_are_public():
    management = FUNCTIONS["ManagementFunction"]["Properties"]["Events"]
    oauth = FUNCTIONS["OAuthFunction"]["Properties"]["Events"]

    assert all(e["Properties"]["Auth"]["Authorizer"] == "AWS_IAM" for e in management.values())
    assert all("Auth" not in e["Properties"] for e in oauth.values())


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in function["Properties"]["Policies"] for s in p["Statement"]]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_iam_names_its_resources(name):
    for statement in _statements(FUNCTIONS[name]):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            assert resource != "*", f"{name}/{statement['Sid']} grants on every resource"
            if isinstance(resource, dict) and "Fn::Sub" in resource and resource["Fn::Sub"].endswith("/*"):
                # SES identities: narrowed by the ses:FromAddress condition instead
                assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == {"Ref": "AlertSenderEmail"}


def test_only_the_oauth_and_settings_page_functions_read_the_link_secret():
    readers = {
        name
        for name, function in FUNCTIONS.items()
        for s in _statements(function)
        if {"Ref": "ConnectLinkSecret"} in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }

    assert readers == {"OAuthFunction", "SettingsPageFunction"}
