"""Request and response bodies, apart from the ORM models."""
