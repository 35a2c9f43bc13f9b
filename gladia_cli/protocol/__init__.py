"""Gladia live v2 protocol, sans I/O: shared by the client and the local server.

Nothing in this package opens a socket, reads a clock or touches a device; its rules are
tested as plain functions and objects.
"""
