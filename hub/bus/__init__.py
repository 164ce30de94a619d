"""The bus: the only package that imports kombu (and pika). Everything above it sees hub.envelope."""
