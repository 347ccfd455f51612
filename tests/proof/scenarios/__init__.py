"""Every scenario of the proof, registered on import. A new scenario module is imported here."""

# oauth_attacks first: it scans the whole table around every attempt, cheap while the push scenarios
# have not filled it yet (after them it took 70 s of the short proof's 190).
from tests.proof.scenarios import oauth_attacks  # noqa: I001
from tests.proof.scenarios import (  # noqa: F401
    bad_input,
    crossings,
    management_auth,
    month_end,
    push_input,
    push_load,
    secrets,
    tokens,
)

__all__ = ["bad_input", "crossings", "management_auth", "month_end", "oauth_attacks", "push_input", "secrets", "tokens"]
