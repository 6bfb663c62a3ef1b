"""Vector indexes and pure ranking functions."""
