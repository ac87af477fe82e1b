"""Constants of the demo source: its name, the endpoints it asks for, the seed it asks with.

The simulated platform itself (its organizations, its generator, its paging)
is :mod:`rapport.simulators.demo_world`; these are what the connector and the
simulated API agree on.
"""

from __future__ import annotations

from typing import Final

NAME: Final = "demo"

DEFAULT_SEED: Final = "rapport-demo-1"
SEED_VARIABLE: Final = "RAPPORT_DEMO_SEED"
"""Environment variable that overrides the seed, read when an extraction starts."""

LOOKUP_ENDPOINT: Final = "accounts/lookup"
STATUSES_ENDPOINT: Final = "accounts/statuses"
NOTIFICATIONS_ENDPOINT: Final = "notifications"
