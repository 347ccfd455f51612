"""The reliability and security proof: ``python -m tests.proof`` (``make proof``) at full size; a short
copy runs inside ``make test`` (``tests/proof/test_short.py``)."""
