"""mcd's state: what Docker cannot hold (owners of gone sessions, projects, audit)."""
