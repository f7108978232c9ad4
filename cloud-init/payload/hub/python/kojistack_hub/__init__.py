"""Helpers the hub bootstrap runs with the system Python (stdlib only, Python 3.9+).

Run as `python3 -m kojistack_hub <command>` with PYTHONPATH=/opt/kojistack/files/python.
"""
