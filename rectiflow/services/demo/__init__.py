"""The demo organisation and its demo round (``rectiflow demo``)."""
