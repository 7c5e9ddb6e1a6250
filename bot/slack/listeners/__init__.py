"""Listeners: thin handlers that ack, parse, call the domain, build blocks, call Slack.

One module per flow, each with ``register(app)``; bot.slack.app registers them all.
"""
