"""The local stack behind `make run`: moto for S3/DynamoDB/SQS, a gateway and Lambda-like runtimes
that call the very handlers Lambda calls, all configured from template.yaml."""
