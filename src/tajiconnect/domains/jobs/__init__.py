"""The job board: crosses organizations, so it lives in the public schema, reached only through its services."""
