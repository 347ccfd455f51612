"""Every scenario of the proof, registered on import. A new scenario module is imported here."""

from tests.proof.scenarios import (  # noqa: F401
    bad_input,
    crossings,
    management_auth,
    month_end,
    oauth_attacks,
    push_input,
    push_load,
    secrets,
    tokens,
)

__all__ = ["bad_input", "crossings", "management_auth", "month_end", "oauth_attacks", "push_input", "secrets", "tokens"]
