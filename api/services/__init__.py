"""What the API does with an event or an answer, apart from parsing and mapping to HTTP."""
