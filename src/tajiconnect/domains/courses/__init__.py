"""Courses: the tenant's catalog, modules holding ordered lessons, the course builder, ratings and reviews."""
