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
