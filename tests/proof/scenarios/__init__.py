"""Every scenario of the proof, registered on import. A new scenario module is imported here."""

from tests.proof.scenarios import bad_input, management_auth, oauth_attacks, push_input, push_load, secrets, tokens  # noqa: F401

__all__ = ["bad_input", "management_auth", "oauth_attacks", "push_input", "secrets", "tokens"]
