"""The domain's facts (candidatures.signals) become webhook deliveries (platforms.webhooks)."""
