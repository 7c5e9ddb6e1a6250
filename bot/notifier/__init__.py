"""The notifier's parts, each answering one question (as in argoproj/notifications-engine).

- ``state``: what was already announced, stored as one JSON annotation on the DGD (pure);
- ``changes``: what to announce now, from a status and that record (pure);
- ``pacer``: when the next Slack message to a channel may go;
- ``sender``: Slack calls with pacing, 429 handling and error classification;
- ``reading``: the cluster reads of a sweep, a constant number of calls;
- ``trouble``: which pods' events and logs are worth a call (pure);
- ``memory``: what one process remembers between sweeps (safe to lose);
- ``watcher``: watches that trigger early sweeps.

``bot.notifier.controller`` puts them together; ``bot.notifier.service`` runs it.
"""
