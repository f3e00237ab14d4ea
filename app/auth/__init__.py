"""Operators: sign-in with password and TOTP, password policy, recovery codes, RBAC."""
