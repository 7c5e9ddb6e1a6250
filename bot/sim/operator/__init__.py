"""The simulated Dynamo operator: it reconciles DGDs into pods, Services, events and status,
schedules GPUs on simulated nodes, and runs simulated frontends.
"""
