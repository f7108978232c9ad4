"""Test doubles for what cannot run here: a koji hub (XML-RPC over TLS) and Auto Scaling lifecycle hooks."""
