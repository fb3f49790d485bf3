"""The HTTP side of the service: a small JSON router on twisted.web and the API resources."""
