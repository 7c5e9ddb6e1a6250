"""Block Kit builders: pure functions from domain objects to slack_sdk models."""
