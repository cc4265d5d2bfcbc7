"""The search attributes the chases keep up to date, for queries in the Temporal UI and CLI:
`AssigneeId='olga' AND ChaseStage='awaiting_payment_date'`. Registered on the namespace by
`chaser search-attributes register` (`make run`, the compose setup job, the tests)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
PRODUCT_ID = SearchAttributeKey.for_keyword("ProductId")
ASSIGNEE_ID = SearchAttributeKey.for_keyword("AssigneeId")
CHASE_STAGE = SearchAttributeKey.for_keyword("ChaseStage")
ORDER_AMOUNT = SearchAttributeKey.for_float("OrderAmount")
LEAD_STATUS = SearchAttributeKey.for_keyword("LeadStatus")

ALL = (ORDER_STATUS, PRODUCT_ID, ASSIGNEE_ID, CHASE_STAGE, ORDER_AMOUNT, LEAD_STATUS)
