"""The broker's side of the registry: password hashes, ACLs, the files mosquitto reads, PKI."""
