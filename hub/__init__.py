"""Integration hub for Vietnam's administrative procedures: portal, one-stop-shop and postal service."""

from datetime import timedelta, timezone

CONTRACT_VERSION = "1"
# The contract's local time (its yyyyMMddHHmmss values), and the audit trail's for display.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
