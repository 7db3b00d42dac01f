"""digest: a static-site generator for daily news digests."""

__version__ = "0.1.0"
