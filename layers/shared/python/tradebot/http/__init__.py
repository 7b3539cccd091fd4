"""HTTP: the route table, the app factory, problem+json errors, headers and dependencies."""
