"""medallion: a Kubernetes-native lakehouse over Olist-format e-commerce data."""

__version__ = "0.1.0"
