"""Grafana as code for the Tianqu city cockpit: boards, provisioning and alert rules.

``python -m dashboards generate`` writes the boards (``json/``) and the provisioning files
(``provisioning/``) from the roster and the rules file; ``python -m dashboards sync`` pushes the
same objects into a running Grafana over its HTTP API. See README.md, section Grafana.
"""
