"""Müttefik Desk core: domain, storage, services and integrations.  Imports no Qt."""

__version__ = "0.1.0"
