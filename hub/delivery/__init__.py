"""Delivering egress messages to partners that speak HTTP, not AMQP (the portal through NGSP/LGSP,
Vietnam Post's BCCI API): a runner that consumes ``egress.<partner>`` and hands each dossier's
messages, in order, to a partner adapter; the failure behaviour every outbound call shares (retries
with backoff, a circuit breaker, rate and concurrency limits, dead letters for refusals)."""
