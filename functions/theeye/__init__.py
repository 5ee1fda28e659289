"""The Eye's domain: events, API keys, errors and the adapters that store them."""
