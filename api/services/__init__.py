"""What the API routes and the web pages both do: one implementation, the same refusals."""
