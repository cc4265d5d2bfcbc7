"""Workflow modules exactly as they were deployed before a `workflow.patched` change.

`order_chase_before_<patch id>.py` is a verbatim copy of workflows/order_chase.py taken just
before the edit; tests/workflows/test_versioning.py starts chases on it. The email cadence they
ran is copied here too (`email_cadence_before_<change>.py`): a copy imports only data (activity
inputs, ids, policies) from today's modules, never logic that has changed since. Delete a copy
when its patch is deprecated (README: "Changing a process while chases run").

They live beside the histories they recorded (`tests/histories/frozen/`): like those, they are
what ran in production, kept to the letter, never edited or tidied to today's code.
"""
