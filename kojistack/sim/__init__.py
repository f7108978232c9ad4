"""The scaling simulator: replays workloads against the controller's own decision functions."""
