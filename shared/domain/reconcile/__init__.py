"""Reconciliation against Xero, per account: :mod:`.service` runs it, :mod:`.compare` compares one
invoice (pure), :mod:`shared.adapters.reconciliation` keeps the report."""
