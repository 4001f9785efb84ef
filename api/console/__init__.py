"""The captain's console (值班机长工作台): a page served by the API, and the live incident feed.

    feed.py       one poller per API process reads new audit entries and fans them out, by
                  scope, to the open ``GET /incidents/stream`` connections
    tickets.py    short-lived stream tickets (EventSource cannot send an Authorization header)
    page.py       the page's configuration from the code (grades, states, the loop's
                  transitions, who may command) and the base map from the roster
    templates/    console.html (Jinja2): the shell, rendered in the chosen language
    static/       console.js (vanilla), console.css — no build step
    i18n/         zh.json, en.json: one catalogue per language, the same keys

The page itself is public (HTML, JavaScript, CSS, the roster's base map); everything it shows
about devices and incidents comes from the scoped JSON routes with the captain's bearer token.
"""
