"""Built-in policies. Each module is an ordinary plugin, registered like an external one."""
