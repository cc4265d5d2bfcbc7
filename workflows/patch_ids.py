"""Every `workflow.patched` id, one place (README: "Changing a process while chases run").

A chase started before a patch replays and goes on down the old path; one started after takes
the new. An id is named for the change and never reused. Data only: passed through the sandbox.
"""

# Order chase: the payment link by SMS at the start of the grace delay.
SMS_PAYMENT_LINK = "sms-payment-link"
# Order chase: dial children named `order-<id>/dial-<n>`, so no other order's chase can have
# that id.
DIAL_ID_SEPARATOR = "dial-id-separator"
# Order chase: money wins, a full payment heard after the chase ended otherwise closes it as
# paid.
PAYMENT_AFTER_END = "payment-after-end"
# Order and lead chases: search attributes (workflows/search_attributes.py) upserted as they
# move (ChaseStage, OrderStatus, AssigneeId; LeadStatus).
SEARCH_ATTRIBUTES = "search-attributes"
# Order chase: a customer address that bounced opens an "Email bounced" task.
EMAIL_BOUNCE_TASK = "email-bounce-task"
# Order chase: the window's end expires only a chase that nothing else ended first.
END_HEARD_BEFORE_EXPIRY = "end-heard-before-expiry"
# Order chase: five days without a phone open a "check the order" task beside the pending
# wait.
NO_PHONE_CHECK = "no-phone-check"
# Order chase and its dial: pause and resume (workflows/pause.py), checked where a change
# arrives, so a history in which an older worker received the signal and ignored it replays
# ignoring it.
PAUSE = "pause"
# Dial: calls inside the assignee's working hours, days counted as working days.
DIAL_WORKING_HOURS = "dial-working-hours"
# Email cadence: marketing emails wait for the customer's send window
# (OrderTimings.send_window).
SEND_WINDOW = "send-window"
# Order chase: the end a payment brings is written by a local activity, inside the workflow
# task that heard the payment, so the thank-you is scheduled in that same task.
PAID_END_IN_TASK = "paid-end-in-task"
# Order chase: the thank-you for a payment is sent by a local activity too, in the same
# workflow task as the paid end, which then closes the chase.
THANK_YOU_IN_TASK = "thank-you-in-task"
