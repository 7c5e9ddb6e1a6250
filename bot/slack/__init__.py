"""Everything that speaks Slack: the Bolt App, its listeners, the Web API client, Socket Mode."""
