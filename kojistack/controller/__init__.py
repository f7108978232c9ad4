"""kojistack-controller: runs on the hub; registers, scales, drains and repairs the builder fleet.

Imports only the standard library, boto3 and koji (distro packages); runs on Python 3.9.
Everything inside this package uses relative imports, so it can be installed under any name.
"""
