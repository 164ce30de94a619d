"""Pulling a partner's feed where it publishes no messages of its own (Vietnam Post's tracking
documents): page after a saved cursor, publish each page to the partner's ingress as the partner's
broker user, with publisher confirms, and move the cursor only once every message of the page is
confirmed. A page published again after a crash is a duplicate for the hub (same ``message_id``),
never a double."""
