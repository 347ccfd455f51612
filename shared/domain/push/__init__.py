"""The push: an organisation's waiting events → Xero, batched per call, one account at a time.

The platform's events reach the push through two steps: the intake (:mod:`shared.domain.intake`)
puts each in its organisation's outbox and sends the organisation a flush ticket; the push
(:mod:`shared.domain.push.flush`) works one organisation's outbox at a time, full batches of 50 a
call whatever else the platform's queue carries. Each flush runs a pipeline of stages, one module each:

| stage      | module                                  | does                                                      |
| ---------- | --------------------------------------- | --------------------------------------------------------- |
| receive    | :mod:`shared.domain.push.receive`       | parse, refuse the malformed and the oversized             |
| claim      | :mod:`shared.domain.push.claims`        | the newest version of each invoice, against its record    |
| invoices ¹ | :mod:`shared.domain.push.invoices`      | check money, mappings and numbers before any write        |
| contacts   | :mod:`shared.domain.push.contacts`      | every contact the invoices need, and contact updates      |
| invoices ² | :mod:`shared.domain.push.invoices`      | create, change, void, delete, 50 a call                   |
| payments   | :mod:`shared.domain.push.payments`      | payments once their invoice is approved                   |
| outcomes   | :mod:`shared.domain.push.outcomes`      | each event's fate carried out, failures told              |

:mod:`shared.domain.push.account` runs one account's share through the stages, its records kept on a
:class:`~shared.domain.push.ledger.Ledger` written once at the end;
:mod:`shared.domain.push.model` holds the vocabulary (every event ends with one :class:`Fate`);
:mod:`shared.domain.push.service` runs the stages. The package itself imports nothing, so a function
that needs one stage (the intake parses events and settles fates) never loads the whole pipeline.
"""
