"""Database: model bases (public vs tenant), engine and sessions, migrations."""
