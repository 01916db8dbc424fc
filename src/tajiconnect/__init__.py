"""TajiConnect: a multi-tenant learning platform for schools and companies."""

__version__ = "0.1.0"
