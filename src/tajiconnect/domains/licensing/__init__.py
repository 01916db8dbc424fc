"""Plans, each tenant's license (public schema) and the seats that learners hold (tenant schema)."""
