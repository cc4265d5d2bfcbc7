"""Customer and manager email: rendering, signed payment links, and the two delivery backends."""
