"""Local stand-in for API Entreprise and the BODACC open-data API, speaking their exact wire formats.

See README.md. Entry points: `python -m connectors.sandbox` and `server.start_in_thread()` (tests).
"""
