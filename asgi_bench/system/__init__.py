"""The machine under the harness: processes stopped by pid with their whole tree, the
watchdog that outlives a killed harness, CPU lists and pinning, stop signals, the
throwaway TLS certificate, the harness's own loopback HTTP client, the importer of
``module:attribute`` strings and the container health check.

It imports only the standard library, psutil and the top-level ``errors`` and
``envvars``: every other package may import it.
"""
