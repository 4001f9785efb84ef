"""HTTP routes, one module per resource; each takes ``CurrentScope`` unless it is public."""
