"""The boards: cockpits per level, one per kind of device, platform health."""
