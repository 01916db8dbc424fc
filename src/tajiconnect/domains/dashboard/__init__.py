"""The organization admin's home page: a summary of seats, members, groups, invitations and recent activity."""
