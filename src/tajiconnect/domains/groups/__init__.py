"""Teams and classes: one grouping model, named by the tenant's kind (departments/teams, grade levels/classes)."""
