"""kojistack: CloudFormation for a push-button Koji build system on AWS."""

__version__ = "0.1.0"
