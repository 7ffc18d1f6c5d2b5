"""The web UI: browse, compare and promote models in a browser.

Served by ``ebonite serve`` beside the API (sign in with a token; actions as the token's role allows) and by
``ebonite ui`` for a registry you can reach directly (read-only, no sign-in, on 127.0.0.1 only). The pages
are server-rendered Jinja2 templates (:mod:`.pages`); what they show is worked out in :mod:`.views` and
:mod:`.listing`; the session and its CSRF tokens are in :mod:`.session`. Needs the ``serve`` extra.
"""
