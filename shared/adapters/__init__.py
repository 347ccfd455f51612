"""Adapters: the one place each outside system (DynamoDB, KMS, Secrets Manager, SES, SQS, Xero) is spoken to."""
