"""tradelab: the reference trading platform canaryspec runs against by default.

It speaks the HTTP contract of the real platform (see README). The backend never imports torch;
ML code lives in ``tradelab.ml`` and is imported only by the workers.
"""

__version__ = "0.1.0"
