"""Running Dynamote: logs, metrics, the audit trail, backoff and `dynamote doctor`."""
