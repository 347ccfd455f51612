"""The code the service's Lambda handlers share: domain logic, adapters to AWS and Xero, and models."""
