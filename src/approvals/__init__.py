"""Approvals: instant approval (秒批) and instant filing (秒报) of government service items."""

__version__ = "0.1.0"
