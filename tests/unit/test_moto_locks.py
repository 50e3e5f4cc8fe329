"""moto made thread-safe: concurrent receivers never share a message, concurrent sends are never lost,
and a conditional update lets exactly one of many racing writers through."""

import threading

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws


@mock_aws
def test_concurrent_receivers_and_senders_lose_and_duplicate_nothing():
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, start + 10)])
    seen: list[str] = []
    seen_lock = threading.Lock()

    def receive_and_delete():
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return
            with seen_lock:
                seen.extend(m["Body"] for m in msgs)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])

    def send_more():
        for i in range(200, 300):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))

    threads = [threading.Thread(target=receive_and_delete) for _ in range(4)] + [threading.Thread(target=send_more)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    receive_and_delete()  # whatever the senders added after the receivers finished
    assert sorted(seen, key=int) == [str(i) for i in range(300)]


@mock_aws
def test_conditional_update_admits_exactly_one_racer():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    winners = []
    barrier = threading.Barrier(8)

    def claim(n):
        barrier.wait()
        try:
            ddb.put_item(TableName="t", Item={"k": {"S": "x"}, "owner": {"N": str(n)}},
                         ConditionExpression="attribute_not_exists(k)")
            winners.append(n)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def _table_with_items(ddb, count: int) -> None:
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    for i in range(count):
        ddb.put_item(TableName="t", Item={
            "pk": {"S": "a" if i % 3 else "b"}, "sk": {"S": f"{i:04d}"}, "n": {"N": "1.50"}, "flag": {"BOOL": True},
            "none": {"NULL": True}, "tags": {"SS": ["x", "y"]}, "nums": {"NS": ["1", "2"]},
            "calls": {"L": [{"M": {"at": {"N": str(j)}, "who": {"S": f"+1907555{j:04d}"}}} for j in range(5)]}})


@mock_aws
def test_fast_item_answers_are_exactly_what_motos_serialiser_writes():
    import moto.dynamodb.responses as responses

    from local.moto_locks import _ITEM_OPERATIONS

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    _table_with_items(ddb, 30)
    calls = [
        ("query", dict(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                       Limit=7, ScanIndexForward=False)),
        ("scan", dict(TableName="t", FilterExpression="sk > :s", ExpressionAttributeValues={":s": {"S": "0010"}})),
        ("get_item", dict(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "0001"}})),
        ("batch_get_item", dict(RequestItems={"t": {"Keys": [{"pk": {"S": "a"}, "sk": {"S": "0002"}},
                                                             {"pk": {"S": "b"}, "sk": {"S": "0003"}}]}})),
        ("update_item", dict(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "0001"}}, ReturnValues="ALL_NEW",
                             UpdateExpression="SET n = :v", ExpressionAttributeValues={":v": {"N": "1.50"}})),
    ]
    fast = {name: ddb.__getattribute__(name)(**kwargs) for name, kwargs in calls}
    patched = responses.DynamoResult.execute_result
    responses.DynamoResult.execute_result = patched.__wrapped__  # moto's own serialiser
    try:
        slow = {name: ddb.__getattribute__(name)(**kwargs) for name, kwargs in calls}
    finally:
        responses.DynamoResult.execute_result = patched
    for name, _ in calls:
        fast[name].pop("ResponseMetadata"), slow[name].pop("ResponseMetadata")
        assert fast[name] == slow[name], name
    assert fast["query"]["Count"] == 7 and "LastEvaluatedKey" in fast["query"]
    assert {"Query", "GetItem", "BatchGetItem"} <= _ITEM_OPERATIONS


@mock_aws
def test_a_query_reads_its_partition_only_and_answers_as_before():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    _table_with_items(ddb, 30)
    pages = ddb.get_paginator("query").paginate(TableName="t", KeyConditionExpression="pk = :p",
                                                ExpressionAttributeValues={":p": {"S": "b"}}, PaginationConfig={"PageSize": 4})
    keys = [item["sk"]["S"] for page in pages for item in page["Items"]]
    assert keys == [f"{i:04d}" for i in range(0, 30, 3)]
    assert ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "zzz"}})["Items"] == []


@mock_aws
def test_moto_keeps_no_list_of_every_item_and_message_it_made():
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    _table_with_items(ddb, 20)
    ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["x"]
    assert len(ddb.scan(TableName="t")["Items"]) == 20
    assert Item.instances_tracked == [] and Message.instances_tracked == []
