"""Deterministic OHLCV market data, so an isolated canary needs no downloads."""
