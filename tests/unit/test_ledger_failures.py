"""The DynamoDB event ledger names the failed operation, and only that, when DynamoDB fails."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bot.adapters.dynamodb_store import DynamoEventLedger
from bot.errors import StoreUnavailable


class FailingDynamoDB:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_item(self, **_: Any) -> None:
        raise self.error

    update_item = delete_item = put_item


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Op")


def call(ledger: DynamoEventLedger, operation: str) -> None:
    if operation == "PutItem":
        ledger.claim("Ev1", ttl_seconds=60, in_progress_seconds=30)
    elif operation == "UpdateItem":
        ledger.complete("Ev1")
    else:
        ledger.release("Ev1")


@pytest.mark.parametrize("operation", ["PutItem", "UpdateItem", "DeleteItem"])
def test_a_dynamodb_error_is_store_unavailable_naming_the_operation_and_code(
    operation: str,
) -> None:
    ledger = DynamoEventLedger("t", client=FailingDynamoDB(throttled()))  # type: ignore[arg-type]

    with pytest.raises(StoreUnavailable) as raised:
        call(ledger, operation)

    assert str(raised.value) == f"DynamoDB {operation} failed: ThrottlingException"


@pytest.mark.parametrize("operation", ["PutItem", "UpdateItem", "DeleteItem"])
def test_an_unreachable_dynamodb_is_store_unavailable_naming_the_operation(operation: str) -> None:
    error = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    ledger = DynamoEventLedger("t", client=FailingDynamoDB(error))  # type: ignore[arg-type]

    with pytest.raises(StoreUnavailable) as raised:
        call(ledger, operation)

    assert str(raised.value) == f"DynamoDB {operation} failed: {error}"


def test_without_a_client_the_ledger_makes_a_dynamodb_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    ledger = DynamoEventLedger("t")

    assert ledger._client.meta.service_model.service_name == "dynamodb"


def test_a_given_client_is_the_one_the_ledger_uses() -> None:
    client = FailingDynamoDB(throttled())

    ledger = DynamoEventLedger("t", client=client)  # type: ignore[arg-type]

    assert ledger._client is client
