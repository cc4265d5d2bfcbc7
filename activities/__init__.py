"""Every side effect of a chase: database writes, emails, tasks, discounts. Each is idempotent."""
