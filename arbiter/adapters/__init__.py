"""Platform adapters: a platform's own events in, Arbiter's decisions acted on back there."""
