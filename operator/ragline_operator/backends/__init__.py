"""Talking to what lives outside Kubernetes: brokers (topics, streams, groups), PostgreSQL, LLMs.

The operator runs where the workloads' network is (in the cluster, or on the developer's machine
beside the local servers), so it can check what the pods will need before they need it. Every
call is bounded by a timeout, concurrency-limited and briefly cached (:mod:`.cached`), and every
message is scrubbed of the credentials it was given.
"""
