"""AWS operations on a launched stack: upload, deploy, client config, status, users, delete, chaos."""
