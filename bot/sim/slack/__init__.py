"""The Slack Web API stand-in that `serve --simulate` and the playground talk to."""
