"""Raqib (رقيب): the daemon and command line that join `monitor` and `alerts`."""

__version__ = "0.1.0"
