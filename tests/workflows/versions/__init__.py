"""Workflow modules exactly as they were deployed before a `workflow.patched` change.

`order_chase_before_<patch id>.py` is a verbatim copy of workflows/order_chase.py taken just
before the edit; tests/workflows/test_versioning.py starts chases on it. Delete the copy when
the patch is deprecated (README: "Changing a process while chases run").
"""
