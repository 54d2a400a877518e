"""Projects: git repositories with their credentials, stored encrypted."""
