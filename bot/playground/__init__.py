"""``dynamote playground``: the whole bot in a browser, with no Slack workspace and no GPUs.

One process runs the simulated cluster, the bot in HTTP mode behind its real server (real
request signing), the Slack Web API stand-in the bot calls, and a local page that plays Slack.
The page sends what a person did (a command typed, a button clicked, a modal submitted) to
:mod:`bot.playground.server`; the Python side turns it into the signed payload Slack would send
(:mod:`bot.playground.payloads`) and posts it to the bot's ``/slack/events``; the page then shows
what the bot did through the Web API, as :mod:`bot.playground.workspace` reads it back.
"""
