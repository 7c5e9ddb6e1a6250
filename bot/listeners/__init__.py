"""Listeners: thin handlers that ack, parse, call the domain, build blocks, call Slack.

One module per flow, each with ``register(app)``; bot.app registers them all.
"""
