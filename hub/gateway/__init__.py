"""The HTTP gateway: partners that cannot speak AMQP post the contract's messages and pull their egress.

Generic hub code: what it knows of partners (which kinds each may publish) is handed in by the entry
point (``hub.cli_gateway``), never imported from ``connectors``.
"""
