"""What the API routes and the web pages both do with an event, an answer or a manager,
apart from parsing and mapping to HTTP: one implementation, the same refusals."""
