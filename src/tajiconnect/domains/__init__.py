"""Business domains, one package each: models, services, schemas, controllers (and tasks, guards)."""
