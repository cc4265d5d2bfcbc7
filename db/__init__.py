"""The app's database: typed SQLAlchemy models and the async engine that serves them."""
