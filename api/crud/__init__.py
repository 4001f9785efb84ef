"""Database operations, each taking the caller's scope where an object belongs to an area."""
