"""Servers the suite stands in a target's path: dependency stubs and fault proxies."""
