"""The web shell: templating, host rules, error pages, the landing page and health."""
