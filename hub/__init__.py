"""Integration hub for Vietnam's administrative procedures: portal, one-stop-shop and postal service."""

CONTRACT_VERSION = "1"
