"""The simulated world that `dynamote sim`, `serve --simulate` and the playground run: the
Kubernetes API server (``k8s``), the Dynamo operator (``operator``) and Slack's Web API
(``slack``), over real HTTP on 127.0.0.1."""
