"""A stateful stand-in for the Xero endpoints the service uses, strict about Xero's rules.

Start one with ``SandboxServer().start()``; point ``XERO_LOGIN_URL``, ``XERO_IDENTITY_URL`` and
``XERO_API_URL`` at its ``url``.
"""

from local.xero_sandbox.app import Sandbox, create_sandbox
from local.xero_sandbox.server import SandboxServer

__all__ = ["Sandbox", "SandboxServer", "create_sandbox"]
