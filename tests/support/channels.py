"""The controller's policy with the stack's channels, as the hub builds it: the channel names from
names.env (kojistack/names.py) through the controller's own settings.names_from_env."""

from __future__ import annotations

from kojistack import names
from kojistack.controller.decide import Policy
from kojistack.controller.settings import names_from_env

NAMES = names_from_env(names.env())
BUILDER_CHANNELS = NAMES.builder_channels
HUB_CHANNELS = NAMES.hub_channels


def policy(**tunables) -> Policy:
    return Policy(BUILDER_CHANNELS, HUB_CHANNELS, NAMES.channel_light, **tunables)
