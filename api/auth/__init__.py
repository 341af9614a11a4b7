"""Who may call: principals, credentials, their store and the per-route roles.

Credentials are passwords (argon2), JWT access tokens, and opaque device and
tracking tokens; the token cache keeps device-token checks for a short time.
"""
