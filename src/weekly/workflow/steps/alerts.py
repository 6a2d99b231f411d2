"""Step alerts: the chain's alert conditions, derived from its weeks' files, each sent once
when it starts and once when it clears (weekly.alerting.senders.alerts)."""
from weekly.alerting.senders import alerts

__all__ = ["alerts"]
