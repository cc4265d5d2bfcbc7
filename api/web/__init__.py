"""The managers' web app under /app/: server-rendered pages, htmx for the live parts."""
