"""Built-in plugins: one package per surface."""
