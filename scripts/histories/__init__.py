"""The history recorder's parts; `python -m scripts.record_histories` runs it."""
