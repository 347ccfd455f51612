"""Everything for running the service on one machine: the Xero sandbox and the local AWS stack."""
