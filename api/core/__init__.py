"""Settings, database, security and the area scope: what every route stands on."""
