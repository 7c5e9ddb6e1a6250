"""The notifier: each managed deployment's card kept current and its thread told, once.

Each part answers one question (as in argoproj/notifications-engine):

- ``controller``: one sweep: read, decide, send, and record on the DGD what was told
  (``bot.domain.notified``, one bounded JSON annotation);
- ``service``: the APScheduler jobs, the watches and the Home refresh, behind ``leader``
  (a ``coordination.k8s.io/v1`` Lease: only the leader sends);
- ``changes``: what to announce now, from a status and that record (pure);
- ``pacer`` and ``sender``: when the next message to a channel may go; the Slack calls;
- ``reading``: the cluster reads of a sweep, a constant number of calls;
- ``trouble``: which pods' events and logs are worth a call (pure);
- ``memory``: what one process remembers between sweeps (safe to lose);
- ``ledger``: open cards in a ConfigMap, for deletions while no replica ran;
- ``deletions``, ``expiry``, ``approvals``: the last reply of a deleted DGD; reminders and
  deletion at expiry; lapsed approval requests;
- ``watcher``: watches that trigger early sweeps.
"""
