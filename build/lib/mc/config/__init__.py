"""User configuration: schema, atomic locked storage, env mapping, ``${VAR}`` expansion."""
