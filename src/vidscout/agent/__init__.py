"""The planning agent: one generator of typed steps over tools."""
