"""The hotline intake application: Twisted services, HTTP API, channels, pipeline, persistence, CLI."""
