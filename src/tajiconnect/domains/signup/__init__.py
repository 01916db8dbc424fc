"""Self-service sign-up on the apex host: a new organization, a trial, provisioned in the background."""
