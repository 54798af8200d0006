"""canaryspec: the behave acceptance suite's library (Docker, HTTP, waits, config, reports).

It talks to the platform only over HTTP and Docker, and never imports tradelab.
"""

__version__ = "0.1.0"
