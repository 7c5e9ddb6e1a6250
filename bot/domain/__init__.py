"""The domain: what a deployment, a request, a policy and a status are, and their rules.

Pure: nothing here does I/O or imports Slack, Kubernetes or the web server.
"""
